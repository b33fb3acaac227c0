"""POST /api/v1/meetings/label on a real node (TLS, loopback) with the default model and real meeting audio."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.config import ModelConfig
from engine.labeling.der import score_pairs
from engine.labeling.formats import read_rttm, read_uem
from engine.models import load_model
from peer import const
from peer.client import NodeClient
from peer.errors import ScopeError
from tests.peer.conftest import Running, running_node


@pytest.fixture(scope="module")
def meeting_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A node on the default model (CAM++ zh-en), as a kiosk or site node runs it."""
    with running_node(tmp_path_factory.mktemp("meetings"), load_model(ModelConfig(threads=1))) as running:
        yield running


def _wav(samples: np.ndarray, rate: int = 16_000, subtype: str = "PCM_16") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format="WAV", subtype=subtype)
    return buf.getvalue()


def _der(shared_data: Path, uri: str, turns: list[dict]) -> float:
    folder = shared_data / "diarization"
    ref = read_rttm(folder / f"{uri}.rttm")[uri]
    uem = read_uem(folder / f"{uri}.uem")[uri]
    hyp = [(t["start"], t["end"], t["speaker"]) for t in turns]
    return score_pairs({uri: (ref, hyp, uem)}).der


def test_a_meeting_upload_answers_who_spoke_when(meeting_node: Running, shared_data: Path) -> None:
    audio = (shared_data / "diarization" / "dev00.wav").read_bytes()
    with meeting_node.client("verify") as client:
        r = client.post("/api/v1/meetings/label", data={"names": "false", "rttm": "true"},
                        files={"audio": ("dev00.wav", audio, "audio/wav")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model_id"] == "campplus-zh-en" and 29 < body["duration"] < 31
    assert len(body["speakers"]) == 2 and all(sp["name"] is None for sp in body["speakers"])
    assert _der(shared_data, "dev00", body["turns"]) <= 0.30  # what a reader of the answer would notice
    rttm_lines = [line.split() for line in body["rttm"].splitlines()]
    assert len(rttm_lines) == len(body["turns"])
    assert {line[7] for line in rttm_lines} == {t["speaker"].replace(" ", "_") for t in body["turns"]}
    assert [float(line[3]) for line in rttm_lines] == pytest.approx([t["start"] for t in body["turns"]], abs=1e-3)


def test_json_body_and_the_python_client_give_the_same_answer(meeting_node: Running, shared_data: Path) -> None:
    audio = (shared_data / "diarization" / "dev01.wav").read_bytes()
    with meeting_node.client("verify") as client:
        r = client.post("/api/v1/meetings/label",
                        json={"audio": base64.b64encode(audio).decode(), "names": False, "speakers": 2})
    assert r.status_code == 200, r.text
    fp = meeting_node.server.endpoint.fingerprint
    with NodeClient(meeting_node.url, meeting_node.keys["verify"], fingerprint=fp, timeout=120) as client:
        labeled = client.label_meeting(audio, speakers=2, names=False)
    assert len(labeled.speakers) == 2
    assert [(t.start, t.end, t.speaker) for t in labeled.turns] == [
        (t["start"], t["end"], t["speaker"]) for t in r.json()["turns"]]


def test_the_route_is_in_the_openapi_document_with_its_scope(meeting_node: Running) -> None:
    with meeting_node.client(None) as client:
        doc = client.get("/api/v1/openapi.json").json()
    op = doc["paths"]["/api/v1/meetings/label"]["post"]
    assert "verify scope" in op["summary"]
    props = op["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert {"audio", "speakers", "min_speakers", "max_speakers", "names", "rttm"} <= set(props)


@pytest.mark.parametrize(("scope", "status"), [(None, 401), ("enrol", 403)])
def test_a_key_without_the_verify_scope_is_refused(meeting_node: Running, scope: str | None, status: int) -> None:
    with meeting_node.client(scope) as client:
        r = client.post("/api/v1/meetings/label", files={"audio": ("a.wav", _wav(np.zeros(16000)), "audio/wav")})
    assert r.status_code == status


def test_corrupt_audio_is_a_clear_400(meeting_node: Running) -> None:
    with meeting_node.client("verify") as client:
        r = client.post("/api/v1/meetings/label", files={"audio": ("a.wav", b"RIFF\x00\x00not audio", "audio/wav")})
    assert r.status_code == 400 and r.json()["error"]["code"] == "undecodable_audio"


def test_a_meeting_longer_than_the_limit_is_413(meeting_node: Running) -> None:
    """31 minutes of 8 kHz 8-bit audio: under the body limit, over the meeting length limit."""
    seconds = const.MAX_MEETING_S + 60
    audio = _wav(np.zeros(int(seconds * 8000), dtype=np.float32), rate=8000, subtype="PCM_U8")
    assert len(audio) < const.MAX_BODY_BYTES
    with meeting_node.client("verify") as client:
        r = client.post("/api/v1/meetings/label", files={"audio": ("long.wav", audio, "audio/wav")})
    assert r.status_code == 413 and r.json()["error"]["code"] == "audio_too_long"


@pytest.mark.parametrize("fields", [{"speakers": "0"}, {"min_speakers": "4", "max_speakers": "2"},
                                    {"speakers": "5", "max_speakers": "3"}, {"names": "maybe"}])
def test_impossible_speaker_bounds_are_422(meeting_node: Running, fields: dict[str, str]) -> None:
    with meeting_node.client("verify") as client:
        r = client.post("/api/v1/meetings/label", data=fields,
                        files={"audio": ("a.wav", _wav(np.zeros(16000)), "audio/wav")})
    assert r.status_code == 422, r.text


def test_a_second_meeting_while_one_is_labeled_gets_503(meeting_node: Running) -> None:
    """One meeting at a time per node, so verifies keep their workers; the others are told to retry."""
    busy = meeting_node.node.meetings._busy
    assert busy.acquire(blocking=False)
    try:
        with meeting_node.client("verify") as client:
            r = client.post("/api/v1/meetings/label", files={"audio": ("a.wav", _wav(np.zeros(16000)), "audio/wav")})
    finally:
        busy.release()
    assert r.status_code == 503 and "another meeting is being labeled" in r.json()["error"]["message"]


def test_the_client_raises_the_nodes_error(meeting_node: Running) -> None:
    fp = meeting_node.server.endpoint.fingerprint
    with NodeClient(meeting_node.url, meeting_node.keys["enrol"], fingerprint=fp, timeout=60) as client, \
            pytest.raises(ScopeError) as info:
        client.label_meeting(_wav(np.zeros(16000)))
    assert info.value.status == 403 and "verify" in info.value.message  # type: ignore[attr-defined]


def test_names_come_from_the_nodes_enrolled_voiceprints(meeting_node: Running, shared_data: Path) -> None:
    """dev00 and dev01 hold the same two people: one enrolled (from dev01) is named, the other stays Speaker N."""
    from engine.audio import load_audio
    from engine.labeling.naming import voiceprint_from_turns

    folder = shared_data / "diarization"
    ref = read_rttm(folder / "dev01.rttm")["dev01"]
    others = [(a, b) for a, b, who in ref if who != "MEE009"]
    solo = [(a, b) for a, b, who in ref if who == "MEE009" and not any(c < b and a < d for c, d in others)]
    engine = meeting_node.node.engine
    vp = voiceprint_from_turns(engine.model, load_audio(folder / "dev01.wav"), solo, "morgan", name="Morgan")
    meeting_node.store.put(vp)
    try:
        audio = (folder / "dev00.wav").read_bytes()
        with meeting_node.client("verify") as client:
            named = client.post("/api/v1/meetings/label", files={"audio": ("dev00.wav", audio, "audio/wav")}).json()
            plain = client.post("/api/v1/meetings/label", data={"names": "false"},
                                files={"audio": ("dev00.wav", audio, "audio/wav")}).json()
    finally:
        meeting_node.store.delete_speaker("morgan")
    assert sorted(str(sp["name"]) for sp in named["speakers"]) == ["Morgan", "None"]
    morgan = next(sp for sp in named["speakers"] if sp["name"] == "Morgan")
    assert morgan["speaker_id"] == "morgan"
    dev00 = read_rttm(folder / "dev00.rttm")["dev00"]
    said = [(t["start"], t["end"]) for t in named["turns"] if t["name"] == "Morgan"]
    truly = sum(max(0.0, min(b, d) - max(a, c)) for a, b in said for c, d, who in dev00 if who == "MEE009")
    assert truly / sum(b - a for a, b in said) >= 0.7  # Morgan's turns are mostly MEE009 speaking
    assert all(sp["name"] is None for sp in plain["speakers"])


def test_a_recording_with_no_speech_says_so(meeting_node: Running) -> None:
    with meeting_node.client("verify") as client:
        r = client.post("/api/v1/meetings/label", files={"audio": ("quiet.wav", _wav(np.zeros(16000 * 20)), "audio/wav")})
    assert r.status_code == 200, r.text
    assert r.json()["speakers"] == [] and r.json()["turns"] == [] and r.json()["notes"] == ["no speech found"]
