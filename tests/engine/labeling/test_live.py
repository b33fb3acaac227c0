"""Live mode over the file-backed source: early provisional labels, and the offline result at the end."""

from __future__ import annotations

from pathlib import Path

from engine.labeling import Labeler, LabelResult
from engine.labeling.live import LiveLabeler, file_chunks


def test_live_run_gives_early_labels_and_ends_as_offline(
    labeler: Labeler, offline: dict[str, LabelResult], meetings: Path
) -> None:
    live = LiveLabeler(labeler, uri="dev00", update_every_s=2.0, adaptive=False)
    updates: list[LabelResult] = []
    for chunk in file_chunks(meetings / "dev00.wav", chunk_s=0.5):
        update = live.feed(chunk)
        if update is not None:
            updates.append(update)
    final = live.finish()
    # Speech starts at 1.4 s in dev00: labels are out within a few seconds of it.
    first = next(u for u in updates if u.turns)
    assert first.duration <= 6.0
    assert not first.final and final.final
    assert len(updates) >= 8
    # Revised as speech arrives: later updates cover more speech than the first.
    assert sum(t.duration for t in updates[-1].turns) > sum(t.duration for t in first.turns) + 10.0
    # The final live result is the offline result.
    assert final.turns == offline["dev00"].turns
    assert [s.label for s in final.speakers] == [s.label for s in offline["dev00"].speakers]


def test_chunk_size_does_not_change_the_result(labeler: Labeler, offline: dict[str, LabelResult], meetings: Path) -> None:
    live = LiveLabeler(labeler, uri="sample", update_every_s=1e9)
    for chunk in file_chunks(meetings / "sample.wav", chunk_s=0.13):
        assert live.feed(chunk) is None
    assert live.finish().turns == offline["sample"].turns
