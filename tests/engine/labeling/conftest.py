"""Fixtures of the labeling tests: the GE2E model, a labeler, and the offline results of the meeting excerpts."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import ModelConfig
from engine.labeling import Labeler, LabelResult
from engine.labeling.formats import read_rttm, read_uem
from engine.models import load_model
from engine.models.base import EmbeddingModel

Turns = list[tuple[float, float, str]]


@pytest.fixture(scope="session")
def meetings(shared_data: Path) -> Path:
    """The folder of meeting excerpts with reference RTTM and UEM."""
    return shared_data / "diarization"


@pytest.fixture(scope="session")
def ge2e() -> EmbeddingModel:
    """The offline GE2E model (weights in the resemblyzer wheel)."""
    return load_model(ModelConfig(model_id="ge2e", threads=2))


@pytest.fixture(scope="session")
def labeler(ge2e: EmbeddingModel) -> Labeler:
    """A labeler with the default settings and no gallery."""
    return Labeler(ge2e)


@pytest.fixture(scope="session")
def offline(labeler: Labeler, meetings: Path) -> dict[str, LabelResult]:
    """Offline results of every excerpt, computed once per session."""
    return {p.stem: labeler.label(p) for p in sorted(meetings.glob("*.wav"))}


def reference(meetings: Path, uri: str) -> tuple[Turns, list[tuple[float, float]] | None]:
    """Reference turns and UEM regions of one excerpt."""
    uem = meetings / f"{uri}.uem"
    regions = read_uem(uem)[uri] if uem.is_file() else None
    return read_rttm(meetings / f"{uri}.rttm")[uri], regions


def hyp_turns(result: LabelResult) -> Turns:
    """A result's turns as (start, end, speaker)."""
    return [(t.start, t.end, t.speaker) for t in result.turns]


def one_speaker(result: LabelResult) -> Turns:
    """The same detected speech labeled as a single speaker."""
    return [(t.start, t.end, "one") for t in result.turns]
