"""Decisions over the REST API with the default model (CAM++ zh-en): the threshold in the answer is the model's,
genuine attempts land above it, impostors and strangers below, and identify of a stranger has no candidate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.config import EngineConfig, ModelConfig
from engine.models import load_model
from engine.models.registry import get_spec
from tests.peer.conftest import Running, attempt_of, enrol_readers, running_node

DEFAULT = EngineConfig(model=ModelConfig(threads=1))
COSINE_T = get_spec("campplus-zh-en").default_threshold


@pytest.fixture(scope="module")
def campplus_node(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A node on the default model with readers 1688 and 1998 enrolled over HTTP (fewer than 20: cosine)."""
    with running_node(tmp_path_factory.mktemp("node"), load_model(DEFAULT.model), config=DEFAULT) as running:
        enrol_readers(running, shared_data)
        yield running


def test_api_decisions_use_the_default_models_threshold(campplus_node: Running, shared_data: Path) -> None:
    with campplus_node.client("admin") as client:  # a key that sees scores and thresholds
        genuine = client.post("/api/v1/voiceprint/verify", data={"speaker_id": "1688"},
                              files={"audio": attempt_of(shared_data, "1688")}).json()
        impostor = client.post("/api/v1/voiceprint/verify", data={"speaker_id": "1688"},
                               files={"audio": attempt_of(shared_data, "1998")}).json()
        found = client.post("/api/v1/voiceprint/identify", files={"audio": attempt_of(shared_data, "1998")}).json()
        strangers = [client.post("/api/v1/voiceprint/identify", files={"audio": attempt_of(shared_data, s)}).json()
                     for s in ("2414", "3080")]
    assert genuine["model_id"] == "campplus-zh-en" and genuine["threshold"] == COSINE_T
    assert genuine["accepted"] and genuine["decision"] == "accept" and genuine["score"] >= COSINE_T, genuine
    assert impostor["threshold"] == COSINE_T and not impostor["accepted"] and impostor["score"] < COSINE_T, impostor
    # Identify is open-set: its threshold grows with the gallery (2 voiceprints here) above the 1:1 one.
    identify_t = campplus_node.node.engine.identify_threshold(False, 2)
    assert identify_t > COSINE_T
    assert found["threshold"] == pytest.approx(identify_t) and found["best"]["speaker_id"] == "1998", found
    assert all(c["score"] >= identify_t for c in found["candidates"]), found
    for body in strangers:
        assert body["threshold"] == pytest.approx(identify_t), body
        assert body["candidates"] == [] and body["best"] is None, body
