"""Naming: dev00's two people enrolled from their turns in dev01, then dev00 labeled with their names.

The default model names at its identify threshold (0.42 for CAM++ zh-en)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.audio import load_audio
from engine.gallery import MemoryGallery
from engine.labeling import Labeler, LabelResult
from engine.labeling.naming import voiceprint_from_turns
from engine.models.base import EmbeddingModel
from tests.engine.labeling.conftest import reference

NAMES = {"MEE009": "Morgan", "MEE012": "Robin"}


def _solo(turns: list[tuple[float, float, str]], who: str) -> list[tuple[float, float]]:
    """Parts of ``who``'s turns where nobody else speaks."""
    out = []
    for a, b, w in turns:
        if w != who:
            continue
        parts = [(a, b)]
        for c, d, other in turns:
            if other == who:
                continue
            parts = [p for x, y in parts for p in ((x, min(y, c)), (max(x, d), y)) if p[1] - p[0] > 0.2]
        out.extend(parts)
    return out


def _gallery(campplus: EmbeddingModel, meetings: Path, people: list[str]) -> MemoryGallery:
    """Voiceprints of ``people`` from their solo turns in dev01."""
    turns, _ = reference(meetings, "dev01")
    wav = load_audio(meetings / "dev01.wav")
    gallery = MemoryGallery()
    for who in people:
        gallery.put(voiceprint_from_turns(campplus, wav, _solo(turns, who), who, name=NAMES[who]))
    return gallery


def _named_accuracy(result: LabelResult, ref: list[tuple[float, float, str]]) -> dict[str, float]:
    """For each name used: of the time its turns cover where someone speaks, the share the named person speaks."""
    step = 0.01
    n = int(result.duration / step) + 1
    active = {who: np.zeros(n, bool) for who in NAMES}
    for a, b, who in ref:
        active[who][int(a / step) : int(b / step)] = True
    anyone = np.logical_or.reduce(list(active.values()))
    right: dict[str, float] = {}
    total: dict[str, float] = {}
    for t in result.turns:
        if t.name is None:
            continue
        who = next(k for k, v in NAMES.items() if v == t.name)
        span = slice(int(t.start / step), int(t.end / step))
        right[t.name] = right.get(t.name, 0.0) + float(active[who][span].sum())
        total[t.name] = total.get(t.name, 0.0) + float(anyone[span].sum())
    return {name: right[name] / total[name] for name in total if total[name] > 0}


def _share_of(turns: list, spans: list[tuple[float, float]]) -> float:  # type: ignore[type-arg]
    """Share of the turns' time that falls inside ``spans``."""
    inside = sum(max(0.0, min(t.end, b) - max(t.start, a)) for t in turns for a, b in spans)
    return inside / max(1e-9, sum(t.duration for t in turns))


@pytest.fixture(scope="module")
def both_named(campplus: EmbeddingModel, meetings: Path) -> LabelResult:
    return Labeler(campplus, gallery=_gallery(campplus, meetings, ["MEE009", "MEE012"])).label(meetings / "dev00.wav")


def test_both_people_are_named(both_named: LabelResult) -> None:
    assert sorted(s.name for s in both_named.speakers if s.name) == ["Morgan", "Robin"]
    assert all(t.name is not None for t in both_named.turns)


def test_named_turns_carry_the_right_names(both_named: LabelResult, meetings: Path) -> None:
    ref, _ = reference(meetings, "dev00")
    accuracy = _named_accuracy(both_named, ref)
    assert set(accuracy) == {"Morgan", "Robin"}
    assert all(share >= 0.8 for share in accuracy.values()), accuracy


def test_unenrolled_person_stays_speaker_n(campplus: EmbeddingModel, meetings: Path) -> None:
    result = Labeler(campplus, gallery=_gallery(campplus, meetings, ["MEE009"])).label(meetings / "dev00.wav")
    names = {s.label: s.name for s in result.speakers}
    assert sorted(names) == ["MEE009", "Speaker 1"]
    assert names["MEE009"] == "Morgan" and names["Speaker 1"] is None
    ref, _ = reference(meetings, "dev00")
    assert set(_named_accuracy(result, ref)) == {"Morgan"}
    unnamed = [t for t in result.turns if t.speaker == "Speaker 1"]
    assert unnamed and all(t.name is None for t in unnamed)
    # Speaker 1's time is Robin's (MEE012), who is not enrolled.
    robin = _share_of(unnamed, [(a, b) for a, b, who in ref if who == "MEE012"])
    assert robin >= 0.8, robin


def test_strangers_are_not_named(campplus: EmbeddingModel, meetings: Path) -> None:
    gallery = _gallery(campplus, meetings, ["MEE009", "MEE012"])
    for uri in ("trn00", "tst00", "sample"):
        result = Labeler(campplus, gallery=gallery).label(meetings / f"{uri}.wav")
        assert all(s.name is None for s in result.speakers), (uri, result.speakers)
