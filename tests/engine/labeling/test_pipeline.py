"""Offline labeling of the real meeting excerpts: speakers found, DER against references and baselines, overlap.

The excerpts are from AMI, which is in segmentation-3.0's training data: these figures are optimistic.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from engine.config import ModelConfig
from engine.errors import ModelUnavailableError
from engine.labeling import Labeler, LabelingCancelled, LabelResult
from engine.labeling.der import score_pairs
from engine.labeling.pipeline import load_default_segmentation
from engine.labeling.reconstruct import FrameActivity, runs, smooth
from tests.engine.labeling.conftest import Turns, hyp_turns, one_speaker, reference

# Measured with the frozen default settings (see engine/labeling/README.md): pooled DER 29.5 % with
# overlap scored, 17.3 % with overlap skipped (collar 0.25 s, inside the UEM); one point of margin.
# The targets (22 % / 12 %) are not met.
MEASURED_DER = 0.295
MEASURED_DER_SKIP = 0.173
MARGIN = 0.01


def _speech_per_speaker(turns: Turns) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for a, b, who in turns:
        out[who] += b - a
    return out


def _pairs(offline: dict[str, LabelResult], meetings: Path) -> dict[str, tuple]:  # type: ignore[type-arg]
    out = {}
    for uri, result in offline.items():
        ref, uem = reference(meetings, uri)
        out[uri] = (ref, hyp_turns(result), uem)
    return out


def test_two_speaker_meetings_get_two_speakers(offline: dict[str, LabelResult]) -> None:
    assert [len(offline[uri].speakers) for uri in ("dev00", "dev01", "sample")] == [2, 2, 2]


def test_pooled_der_holds_the_measured_figures(offline: dict[str, LabelResult], meetings: Path) -> None:
    report = score_pairs(_pairs(offline, meetings))
    assert report.der <= MEASURED_DER + MARGIN, report.files
    assert report.der_skip_overlap <= MEASURED_DER_SKIP + MARGIN, report.files


def test_better_than_one_speaker_on_every_multi_speaker_file(offline: dict[str, LabelResult], meetings: Path) -> None:
    checked = []
    for uri, result in offline.items():
        ref, uem = reference(meetings, uri)
        talkers = [s for s, sec in _speech_per_speaker(ref).items() if sec >= 5.0]
        if len(talkers) < 2:
            continue
        ours = score_pairs({uri: (ref, hyp_turns(result), uem)})
        single = score_pairs({uri: (ref, one_speaker(result), uem)})
        assert ours.der < single.der, (uri, ours.der, single.der)
        assert ours.der_skip_overlap < single.der_skip_overlap, (uri, ours.der_skip_overlap, single.der_skip_overlap)
        checked.append(uri)
    assert len(checked) >= 4  # dev00, dev01, sample, trn00, tst00 qualify


def _seconds(mask: np.ndarray) -> float:
    return float(mask.sum()) / 100.0


def _talking(turns: Turns, seconds: float) -> np.ndarray:
    """How many people talk in each 10 ms step."""
    count = np.zeros(int(seconds * 100) + 1, np.int64)
    for a, b, _ in turns:
        count[int(a * 100) : int(b * 100)] += 1
    return count


def test_people_talking_over_each_other_get_two_labels_at_once(offline: dict[str, LabelResult],
                                                               meetings: Path) -> None:
    result = offline["tst00"]  # four people, overlapping for about 18 of its 30 s
    ref, _ = reference(meetings, "tst00")
    ours = _talking(hyp_turns(result), result.duration) >= 2
    theirs = _talking(ref, result.duration) >= 2
    assert _seconds(ours) >= 5.0  # measured 8.9 s
    assert _seconds(ours & theirs) >= 0.8 * _seconds(ours)  # measured 96 % of it is real overlap
    overlapping = [(s, t) for s in result.turns for t in result.turns if s.speaker != t.speaker
                   and s.start < t.end and t.start < s.end]
    assert overlapping  # visible in the output as turns of two speakers at the same time


def test_known_speaker_count_is_used(labeler: Labeler, meetings: Path) -> None:
    result = labeler.label(meetings / "tst00.wav", num_speakers=4)
    assert len(result.speakers) == 4
    bounded = labeler.label(meetings / "tst00.wav", min_speakers=2, max_speakers=2)
    assert len(bounded.speakers) == 2
    assert len(labeler.label(meetings / "trn00.wav", min_speakers=3).speakers) == 3


def test_no_turn_or_pause_too_short_to_hear(offline: dict[str, LabelResult]) -> None:
    """Slivers where the nearest chunk changes (one 17 ms frame of dev00 was 'Speaker 2') are not turns."""
    for result in offline.values():
        by_speaker: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for t in result.turns:
            assert t.end - t.start >= 0.1 - 1e-3, (result.uri, t)
            by_speaker[t.speaker].append((t.start, t.end))
        for spans in by_speaker.values():
            assert all(a2 - b1 >= 0.1 - 1e-3 for (_, b1), (a2, _) in pairwise(spans))


def test_smoothing_bridges_short_pauses_and_gives_slivers_to_the_neighbour() -> None:
    active = np.zeros((40, 3), bool)
    active[0:10, 0] = True
    active[10:11, 1] = True  # one frame of another label where the nearest chunk changes
    active[11:20, 0] = True
    active[22:30, 0] = True  # a two-frame pause in one person's speech
    active[30:38, 2] = True
    active[39:40, 1] = True  # an isolated one-frame blip, nobody beside it
    share = active.astype(np.float32) * 0.5
    out = smooth(FrameActivity(active, share), shortest=6)
    assert runs(out.active[:, 0]) == [(0, 30)]
    assert runs(out.active[:, 1]) == []
    assert runs(out.active[:, 2]) == [(30, 38)]
    assert np.all(out.share[out.active] > 0) and np.all(out.share[~out.active] == 0)
    long_enough = smooth(FrameActivity(active, share), shortest=1)
    assert np.array_equal(long_enough.active, active)


def test_turns_are_ordered_inside_the_file_with_confidences(offline: dict[str, LabelResult]) -> None:
    for result in offline.values():
        assert result.turns, result.uri
        starts = [t.start for t in result.turns]
        assert starts == sorted(starts)
        assert all(0.0 <= t.start < t.end <= result.duration + 1e-6 for t in result.turns)
        assert all(0.0 <= t.confidence <= 1.0 for t in result.turns)
        assert {t.speaker for t in result.turns} == {s.label for s in result.speakers}
        assert [s.label for s in result.speakers if s.name is None] == [
            f"Speaker {i + 1}" for i in range(len(result.speakers))]


def test_progress_is_reported_and_cancel_stops(labeler: Labeler, meetings: Path) -> None:
    seen: list[tuple[str, int]] = []
    labeler.label(meetings / "dev01.wav", progress=lambda step, done, total: seen.append((step, done)))
    assert ("audio_seconds", 30) in seen
    assert any(step == "windows" and done > 0 for step, done in seen)
    stop = threading.Event()
    stop.set()
    with pytest.raises(LabelingCancelled):
        labeler.label(meetings / "dev01.wav", cancel=stop)


def test_a_missing_segmentation_model_names_the_install_command(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="vomid models install"):
        load_default_segmentation(ModelConfig(cache_dir=tmp_path / "empty-cache"))
