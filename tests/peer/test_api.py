"""The REST API over a real TLS server on loopback: enrol, verify, identify, embed, read, list."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np

from tests.peer.conftest import Running, attempt_of, takes_of, utterances


def test_health_and_ready_need_no_key(node: Running) -> None:
    with node.client(None) as client:
        health = client.get("/health")
        ready = client.get("/ready")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert ready.status_code == 200 and ready.json()["model_id"] == "ge2e" and ready.json()["ready"]


def test_genuine_attempt_is_accepted_and_impostor_rejected(node: Running, shared_data: Path) -> None:
    with node.client("admin") as client:  # a key that manages enrolments sees the scores
        genuine = client.post("/api/v1/voiceprint/verify", data={"speaker_id": "1688"},
                              files={"audio": ("a.flac", attempt_of(shared_data, "1688"), "audio/flac")})
        impostor = client.post("/api/v1/voiceprint/verify", data={"speaker_id": "1998"},
                               files={"audio": ("a.flac", attempt_of(shared_data, "2414"), "audio/flac")})
    assert genuine.status_code == 200, genuine.text
    g, i = genuine.json(), impostor.json()
    assert g["accepted"] and g["decision"] == "accept" and g["score"] >= g["threshold"] and g["model_id"] == "ge2e"
    assert impostor.status_code == 200 and not i["accepted"] and i["decision"] == "reject" and i["score"] < g["score"]
    assert g["quality"]["speech_seconds"] > 1


def test_json_base64_variant_gives_the_same_decision(node: Running, shared_data: Path) -> None:
    audio = attempt_of(shared_data, "1998")
    with node.client("admin") as client:
        multipart = client.post("/api/v1/voiceprint/verify", data={"speaker_id": "1998"}, files={"audio": audio})
        as_json = client.post("/api/v1/voiceprint/verify",
                              json={"speaker_id": "1998", "audio": base64.b64encode(audio).decode()})
    assert multipart.status_code == as_json.status_code == 200
    assert multipart.json()["accepted"] and abs(multipart.json()["score"] - as_json.json()["score"]) < 1e-6


def test_identify_ranks_the_true_speaker_first(node: Running, shared_data: Path) -> None:
    with node.client("admin") as client:
        for speaker in ("1688", "1998"):
            r = client.post("/api/v1/voiceprint/identify", files={"audio": attempt_of(shared_data, speaker)},
                            data={"top_k": "3"})
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["best"]["speaker_id"] == speaker and body["best"]["name"] == f"Reader {speaker}"
        stranger = client.post("/api/v1/voiceprint/identify",
                               json={"audio": base64.b64encode(attempt_of(shared_data, "3080")).decode()})
    assert stranger.status_code == 200
    # Nobody enrolled scores above the threshold for a stranger: no candidate at all, not merely not 3080.
    assert stranger.json()["candidates"] == [] and stranger.json()["best"] is None, stranger.json()


def test_a_verify_only_key_learns_decisions_not_scores_names_or_which_ids_exist(node: Running,
                                                                               shared_data: Path) -> None:
    """A door or kiosk client with the verify scope only: accept/reject without scores; an unknown id is an
    ordinary rejection (not a 404) after the same audio checks; identify names ids without names or scores."""
    genuine, impostor = attempt_of(shared_data, "1688"), attempt_of(shared_data, "2414")
    with node.client("verify") as client:
        ok = client.post("/api/v1/voiceprint/verify", data={"speaker_id": "1688"}, files={"audio": genuine})
        wrong = client.post("/api/v1/voiceprint/verify", data={"speaker_id": "1998"}, files={"audio": impostor})
        nobody = client.post("/api/v1/voiceprint/verify", data={"speaker_id": "nobody-here"},
                             files={"audio": impostor})
        silent = client.post("/api/v1/voiceprint/verify", data={"speaker_id": "nobody-here"},
                             files={"audio": ("s.wav", _silence_wav(), "audio/wav")})
        found = client.post("/api/v1/voiceprint/identify", files={"audio": genuine})
    assert ok.status_code == 200 and ok.json()["accepted"]
    hidden = ("score", "raw_score", "threshold", "normalised")
    for answer in (ok, wrong, nobody):
        assert all(answer.json()[k] is None for k in hidden), answer.json()
    assert wrong.status_code == nobody.status_code == 200
    assert set(wrong.json()) == set(nobody.json()) and not nobody.json()["accepted"]
    assert silent.status_code == 400  # the audio gate answers as it does for an enrolled id
    best = found.json()["best"]
    assert best == {"speaker_id": "1688", "name": None, "score": None}


def _silence_wav() -> bytes:
    import io

    import numpy as np
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.zeros(16000 * 3, dtype=np.float32), 16000, format="WAV")
    return buf.getvalue()


def test_embed_returns_the_engines_unit_vector(node: Running, shared_data: Path) -> None:
    path = utterances(shared_data, "2414")[5]
    with node.client("verify") as client:
        r = client.post("/api/v1/embed", files={"audio": path.read_bytes()}, data={"model_id": "ge2e"})
        other_model = client.post("/api/v1/embed", files={"audio": path.read_bytes()}, data={"model_id": "campplus"})
    assert r.status_code == 200, r.text
    vector = np.asarray(r.json()["vector"], dtype=np.float32)
    expected = node.node.engine.embed(path, purpose="verify").vector
    assert r.json()["dim"] == 256 and abs(float(np.linalg.norm(vector)) - 1) < 1e-4
    assert float(vector @ expected) > 0.9999
    assert other_model.status_code == 409 and other_model.json()["error"]["code"] == "model_mismatch"


def test_read_and_list_speakers_without_biometric_data(node: Running) -> None:
    with node.client("admin") as client:
        one = client.get("/api/v1/voiceprint/1688")
        page = client.get("/api/v1/voiceprints", params={"limit": 1, "status": "active"})
        missing = client.get("/api/v1/voiceprint/nobody")
    assert one.status_code == 200
    assert one.json()["name"] == "Reader 1688" and one.json()["models"] == ["ge2e"] and "mean" not in one.text
    assert page.status_code == 200 and len(page.json()["items"]) == 1 and page.json()["total"] >= 2
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_duplicate_register_is_a_conflict_and_changes_nothing(node: Running, shared_data: Path) -> None:
    before = node.store.get("1688", "ge2e")
    with node.client("enrol") as client:
        r = client.post("/api/v1/voiceprint/register", data={"speaker_id": "1688", "name": "Someone else"},
                        files=takes_of(shared_data, "1998"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "speaker_exists"
    after = node.store.get("1688", "ge2e")
    assert before is not None and after is not None and np.array_equal(before.mean, after.mean)
    assert after.name == "Reader 1688"


def test_openapi_document_describes_every_route(node: Running) -> None:
    with node.client(None) as client:
        doc = client.get("/api/v1/openapi.json").json()
        docs = client.get("/api/v1/docs")
        script = client.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    paths = set(doc["paths"])
    assert {"/api/v1/voiceprint/register", "/api/v1/voiceprint/verify", "/api/v1/voiceprint/identify",
            "/api/v1/voiceprint/{user_id}", "/api/v1/voiceprint/{user_id}/status", "/api/v1/voiceprints",
            "/api/v1/embed", "/health", "/ready", "/metrics", "/api/v1/stats", "/api/v1/storage/stats",
            "/api/v1/cluster/status", "/api/v1/cluster/nodes", "/api/v1/cluster/nodes/{node_id}"} <= paths
    assert "multipart/form-data" in doc["paths"]["/api/v1/voiceprint/register"]["post"]["requestBody"]["content"]
    assert docs.status_code == 200
    # the docs page works offline: its script and style come from this node, never from a CDN
    assert "/api/v1/docs/assets/swagger-ui-bundle.js" in docs.text and "cdn" not in docs.text.lower()
    assert script.status_code == 200 and "SwaggerUIBundle" in script.text


def test_cluster_routes_report_the_single_node(node: Running) -> None:
    with node.client("admin") as client:
        status = client.get("/api/v1/cluster/status").json()
        nodes = client.get("/api/v1/cluster/nodes").json()
        add = client.post("/api/v1/cluster/nodes", json={"address": "127.0.0.2:8443"})
    assert status["node_id"] == node.node.node_id and len(status["nodes"]) == 1 and status["nodes"][0]["self"]
    assert nodes[0]["model_id"] == "ge2e"
    assert add.status_code == 409 and add.json()["error"]["code"] == "cluster_disabled"


def test_the_served_document_asks_for_as_many_takes_as_an_enrolment_needs(node: Running) -> None:
    """The OpenAPI document said minItems 1 for ``takes``; the engine refuses fewer than min_enrol_takes (3)."""
    from engine.config import EngineConfig

    with node.client(None) as client:
        operation = client.get("/api/v1/openapi.json").json()["paths"]["/api/v1/voiceprint/register"]["post"]
    content = operation["requestBody"]["content"]
    as_json = content["application/json"]["schema"]["properties"]["takes"]
    as_files = content["multipart/form-data"]["schema"]["properties"]["takes"]
    needed = EngineConfig().min_enrol_takes
    assert needed == 3 and as_json["minItems"] == as_files["minItems"] == needed
