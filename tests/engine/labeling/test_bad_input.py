"""Inputs a meeting room produces that are not a clean two-to-four person meeting.

Silence, one voice, 8 kHz, split stereo, five or more people, two people talking over each other throughout.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from engine.audio import load_audio
from engine.labeling import Labeler, LabelResult
from engine.labeling.der import score_pairs
from tests.engine.labeling.conftest import excerpt, hyp_turns, one_speaker, reference, speakers_in


def _speaker_audio(shared_data: Path, speaker: str, seconds: float) -> np.ndarray:
    parts, total = [], 0
    for f in sorted((shared_data / "verification" / "en" / speaker).glob("*.flac")):
        x = load_audio(f).samples
        parts.extend([x, np.zeros(8000, np.float32)])
        total += len(x) + 8000
        if total >= seconds * 16000:
            break
    return np.concatenate(parts)[: int(seconds * 16000)]


def test_silence_and_noise_give_no_turns(labeler: Labeler, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for name, x in {"silence": np.zeros(16000 * 10, np.float32),
                    "noise": (rng.standard_normal(16000 * 10) * 0.001).astype(np.float32)}.items():
        path = tmp_path / f"{name}.wav"
        sf.write(path, x, 16000)
        result = labeler.label(path)
        assert result.turns == [] and result.speakers == [], name
        assert "no speech found" in result.notes


def test_one_speaker_is_one_speaker(labeler: Labeler, shared_data: Path) -> None:
    x = _speaker_audio(shared_data, "1688", 40.0) * np.float32(0.05)  # quiet, like the room
    result = labeler.label(x, 16000)
    assert len(result.speakers) == 1
    assert sum(t.duration for t in result.turns) > 25.0


def test_8khz_recording_still_separates_the_speakers(labeler: Labeler, meetings: Path, tmp_path: Path) -> None:
    x = load_audio(meetings / "dev00.wav").samples
    path = tmp_path / "dev00.wav"
    sf.write(path, soxr.resample(x, 16000, 8000), 8000, subtype="PCM_16")
    result = labeler.label(path)
    assert result.uri == "dev00"
    assert len(result.speakers) == 2
    ref, uem = reference(meetings, "dev00")
    ours = score_pairs({"dev00": (ref, hyp_turns(result), uem)})
    single = score_pairs({"dev00": (ref, one_speaker(result), uem)})
    assert ours.der < single.der


def test_stereo_with_one_person_per_channel(labeler: Labeler, shared_data: Path, tmp_path: Path) -> None:
    a = _speaker_audio(shared_data, "1688", 12.0)
    b = _speaker_audio(shared_data, "2414", 12.0)
    n = len(a)
    left = np.concatenate([a, np.zeros(n), a])  # A talks at 0-12 s and 24-36 s on the left
    right = np.concatenate([np.zeros(n), b, np.zeros(n)])  # B talks at 12-24 s on the right
    path = tmp_path / "stereo.flac"
    sf.write(path, np.stack([left, right], axis=1) * 0.05, 16000)
    result = labeler.label(path)
    assert len(result.speakers) == 2
    who = [_main_speaker(result, 12.0 * i, 12.0 * (i + 1)) for i in range(3)]
    assert who[0] == who[2] != who[1]


def _main_speaker(result: LabelResult, a: float, b: float) -> str:
    """The label with the most time between ``a`` and ``b``."""
    time: dict[str, float] = {}
    for t in result.turns:
        time[t.speaker] = time.get(t.speaker, 0.0) + max(0.0, min(b, t.end) - max(a, t.start))
    return max(time, key=lambda k: time[k])


def test_a_meeting_of_seven_people_finds_at_least_five(labeler: Labeler, meetings: Path) -> None:
    """tst00 (4 people) then trn00 (3 others, another AMI meeting), joined into one 60 s recording."""
    first, second = excerpt(meetings, "tst00"), excerpt(meetings, "trn00")
    ref = reference(meetings, "tst00")[0] + [(a + 30.0, b + 30.0, who) for a, b, who in reference(meetings, "trn00")[0]]
    assert len(speakers_in(ref)) == 7
    result = labeler.label(np.concatenate([first, second]), 16000)
    assert 5 <= len(result.speakers) <= 8  # measured: 5
    ours = score_pairs({"joined": (ref, hyp_turns(result), [(0.0, 60.0)])})
    single = score_pairs({"joined": (ref, one_speaker(result), [(0.0, 60.0)])})
    assert ours.der < single.der - 0.15, (ours.der, single.der)
    # People of the first meeting are not reused for the second one (different rooms, different people).
    early = {t.speaker for t in result.turns if t.end <= 29.0}
    late = {t.speaker for t in result.turns if t.start >= 31.0}
    assert len(early) >= 2 and len(late) >= 2 and len(early & late) <= 1


def test_two_people_talking_over_each_other_throughout(labeler: Labeler, shared_data: Path) -> None:
    """Two readers mixed into one channel for 40 s: two speakers, most of the speech labeled with both at once."""
    a = _speaker_audio(shared_data, "1688", 40.0)
    b = _speaker_audio(shared_data, "2414", 40.0)
    level = np.float32(0.005)
    x = (a / np.sqrt(np.mean(a**2)) + b / np.sqrt(np.mean(b**2))) * level
    result = labeler.label(x.astype(np.float32), 16000)
    assert len(result.speakers) == 2
    steps = np.zeros(4001, np.int64)
    for t in result.turns:
        steps[int(t.start * 100) : int(t.end * 100)] += 1
    assert (steps >= 1).sum() / 100 > 30.0
    assert (steps >= 2).sum() / 100 > 12.0  # measured 19.4 s labeled with both at once
    assert all(s.speech_seconds > 15.0 for s in result.speakers)
