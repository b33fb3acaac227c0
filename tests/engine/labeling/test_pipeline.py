"""Offline labeling of the real meeting excerpts: speakers found, DER against references and baselines."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from engine.labeling import Labeler, LabelResult
from engine.labeling.der import score_pairs
from tests.engine.labeling.conftest import hyp_turns, one_speaker, reference

# Issue 6 targets, pooled over the six excerpts (overlap scored / skipped, collar 0.25, inside UEM).
TARGET_DER = 0.35
TARGET_DER_SKIP = 0.22


def _speech_per_speaker(turns: list[tuple[float, float, str]]) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for a, b, who in turns:
        out[who] += b - a
    return out


def test_two_speaker_meeting_gets_two_speakers(offline: dict[str, LabelResult]) -> None:
    assert len(offline["dev00"].speakers) == 2
    assert len(offline["sample"].speakers) == 2


def test_pooled_der_meets_the_targets(offline: dict[str, LabelResult], meetings: Path) -> None:
    pairs = {uri: (*_ref_and_uem(meetings, uri, r),) for uri, r in offline.items()}
    report = score_pairs(pairs)
    assert report.der <= TARGET_DER, report.files
    assert report.der_skip_overlap <= TARGET_DER_SKIP, report.files


def _ref_and_uem(meetings: Path, uri: str, result: LabelResult) -> tuple:  # type: ignore[type-arg]
    ref, uem = reference(meetings, uri)
    return ref, hyp_turns(result), uem


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


def test_known_speaker_count_is_used(labeler: Labeler, meetings: Path) -> None:
    result = labeler.label(meetings / "tst00.wav", num_speakers=4)
    assert len(result.speakers) == 4
    bounded = labeler.label(meetings / "tst00.wav", min_speakers=3, max_speakers=3)
    assert len(bounded.speakers) == 3


def test_turns_are_ordered_inside_the_file_with_confidences(offline: dict[str, LabelResult]) -> None:
    for result in offline.values():
        assert result.turns, result.uri
        starts = [t.start for t in result.turns]
        assert starts == sorted(starts)
        assert all(0.0 <= t.start < t.end <= result.duration + 1e-6 for t in result.turns)
        assert all(0.0 <= t.confidence <= 1.0 for t in result.turns)
        assert {t.speaker for t in result.turns} == {s.label for s in result.speakers}


def test_progress_is_reported_and_cancel_stops(labeler: Labeler, meetings: Path) -> None:
    import threading

    from engine.labeling import LabelingCancelled

    seen: list[tuple[str, int]] = []
    labeler.label(meetings / "dev01.wav", progress=lambda step, done, total: seen.append((step, done)))
    assert ("audio_seconds", 30) in seen
    assert any(step == "windows" and done > 0 for step, done in seen)
    stop = threading.Event()
    stop.set()
    with pytest.raises(LabelingCancelled):
        labeler.label(meetings / "dev01.wav", cancel=stop)
