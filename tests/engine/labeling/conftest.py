"""Fixtures of the labeling tests: the default CAM++ model, a labeler, and the offline results of the meeting excerpts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.audio import load_audio
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
def campplus() -> EmbeddingModel:
    """The default embedding model (CAM++ zh-en, installed by `vomid models install`)."""
    return load_model(ModelConfig(threads=1))


@pytest.fixture(scope="session")
def labeler(campplus: EmbeddingModel) -> Labeler:
    """A labeler with the default settings and no gallery (segmentation-3.0 from the model cache)."""
    return Labeler(campplus)


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


def excerpt(meetings: Path, uri: str) -> np.ndarray:
    """One excerpt's samples (16 kHz mono float32)."""
    return load_audio(meetings / f"{uri}.wav").samples


def speakers_in(turns: Turns) -> set[str]:
    """The distinct speakers of some turns."""
    return {who for _, _, who in turns}
