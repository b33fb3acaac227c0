"""What a (stolen) member may push: records of the wrong shape, and voiceprints whose vectors do not fit, are
refused whole with InvalidReplicaError (422 invalid_replica at the node) and change nothing."""

from __future__ import annotations

import base64
import copy
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from engine.store import KeyFileProvider, VoiceprintStore
from engine.store.crypto import field_aad, new_key, seal
from engine.store.errors import InvalidReplicaError
from engine.store.replica import ReplicaRecord, transport_aad
from tests.engine.store.conftest import make_voiceprint

TRANSPORT = os.urandom(32)


def _store(tmp_path: Path, name: str) -> VoiceprintStore:
    return VoiceprintStore.open(tmp_path / name / "store.db", KeyFileProvider(tmp_path / name / "master.key"),
                                node_id=name, model_id="campplus")


def attacker_records(tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The speaker and voiceprint records of "mallory" (campplus, dim 192) as node ``nodeb`` sends them."""
    with _store(tmp_path, "nodeb") as b:
        b.put(make_voiceprint("mallory", seed=1, name="Mallory"))
        records = [r.to_json() for r in b.changes_since(None, TRANSPORT)]
    return next(r for r in records if r["kind"] == "speaker"), next(r for r in records if r["kind"] == "voiceprint")


def _b64(value: bytes) -> dict[str, str]:
    return {"b64": base64.b64encode(value).decode()}


def with_vectors(record: dict[str, Any], mean: np.ndarray, takes: np.ndarray, transport: bytes = TRANSPORT
                 ) -> dict[str, Any]:
    """``record`` carrying these vectors, sealed as a member holding the transport key can seal them."""
    out = copy.deepcopy(record)
    sid, mid = out["key"]
    dek = new_key()
    out["data"].update(transport_dek=_b64(seal(AESGCM(transport), dek, transport_aad(sid, mid))),
                       mean_ct=_b64(seal(AESGCM(dek), np.asarray(mean, "<f4").tobytes(), field_aad("mean", sid, mid))),
                       takes_ct=_b64(seal(AESGCM(dek), np.asarray(takes, "<f4").tobytes(),
                                          field_aad("takes", sid, mid))),
                       dim=int(np.asarray(mean).size), n_takes=int(np.asarray(takes).reshape(-1, mean.size).shape[0]))
    return out


def bad_vectors(record: dict[str, Any], bad: str, transport: bytes = TRANSPORT) -> dict[str, Any]:
    """The voiceprint record with vectors a model never gives (see the parametrisation below)."""
    good = np.full(192, 1 / np.sqrt(192), np.float32)
    if bad == "another dim":  # consistent in itself, but campplus here holds 192-d means
        return with_vectors(record, good[:10] * np.sqrt(19.2), np.tile(good[:10], (3, 1)), transport)
    if bad == "nan mean":
        return with_vectors(record, np.full(192, np.nan, np.float32), np.tile(good, (3, 1)), transport)
    if bad == "inf takes":
        return with_vectors(record, good, np.full((3, 192), np.inf, np.float32), transport)
    out = with_vectors(record, good, np.tile(good, (3, 1)), transport)
    out["data"]["dim"] = 10  # "mean shorter than its dim": the columns say 10, the mean holds 192
    return out


@pytest.mark.parametrize("bad", ["another dim", "mean shorter than its dim", "nan mean", "inf takes"])
def test_a_voiceprint_whose_vectors_do_not_fit_is_refused_and_the_index_still_builds(tmp_path: Path,
                                                                                      bad: str) -> None:
    speaker, voiceprint = attacker_records(tmp_path)
    with _store(tmp_path, "nodea") as a:
        a.put(make_voiceprint("alice", seed=2, name="Alice"))
        a.build_index("campplus")
        before = a.digest()
        forged = bad_vectors(voiceprint, bad)
        with pytest.raises(InvalidReplicaError, match="mallory/campplus"):
            a.apply_changes([ReplicaRecord.from_json(r) for r in (speaker, forged)], TRANSPORT, actor="peer:nodeb")
        assert a.digest() == before  # the page refused whole: not even mallory's speaker record
        assert a.build_index("campplus").ids() == ["alice"] and a.load_errors == []
        ids, means = a.matrix("campplus")
        assert ids == ["alice"] and np.isfinite(means).all()
        # control: the same record with vectors that fit goes in
        assert a.apply_changes([ReplicaRecord.from_json(r) for r in (speaker, voiceprint)], TRANSPORT,
                               actor="peer:nodeb") == 2
        assert sorted(a.matrix("campplus")[0]) == ["alice", "mallory"]


def _malformed(speaker: dict[str, Any], voiceprint: dict[str, Any], how: str) -> dict[str, Any]:
    rec = copy.deepcopy(voiceprint if how.startswith("voiceprint") else speaker)
    edits: dict[str, Any] = {
        "voiceprint key of one part": lambda r: r.update(key=["mallory"]),
        "voiceprint without dim": lambda r: r["data"].pop("dim"),
        "voiceprint dim as text": lambda r: r["data"].update(dim="192"),
        "speaker key as a string": lambda r: r.update(key="mallory"),
        "speaker key of a number": lambda r: r.update(key=[5]),
        "speaker key of an object": lambda r: r.update(key=[{"a": 1}]),
        "speaker key of 1 MB": lambda r: r.update(key=["m" * 1_000_000]),
        "speaker key empty": lambda r: r.update(key=[""]),
        "speaker of an unknown kind": lambda r: r.update(kind="user"),
        "speaker without data": lambda r: r.pop("data"),
        "speaker data as a list": lambda r: r.update(data=[1]),
        "speaker writer as an object": lambda r: r.update(writer_node={"a": 1}),
        "speaker deleted as text": lambda r: r.update(deleted="no"),
        "speaker status made up": lambda r: r["data"].update(status="pwned"),
        "speaker name of 1 MB": lambda r: r["data"].update(name="N" * 1_000_000),
        "speaker name reordering text": lambda r: r["data"].update(name="Al\u202eice"),
        "speaker data naming another speaker": lambda r: r["data"].update(speaker_id="alice"),
    }
    edits[how](rec)
    return rec


MALFORMED = ["voiceprint key of one part", "voiceprint without dim", "voiceprint dim as text",
             "speaker key as a string", "speaker key of a number", "speaker key of an object", "speaker key of 1 MB",
             "speaker key empty", "speaker of an unknown kind", "speaker without data", "speaker data as a list",
             "speaker writer as an object", "speaker deleted as text", "speaker status made up",
             "speaker name of 1 MB", "speaker name reordering text", "speaker data naming another speaker"]


@pytest.mark.parametrize("how", MALFORMED)
def test_a_record_of_the_wrong_shape_is_refused_as_invalid(tmp_path: Path, how: str) -> None:
    speaker, voiceprint = attacker_records(tmp_path)
    rec = json.loads(json.dumps(_malformed(speaker, voiceprint, how)))
    with _store(tmp_path, "nodea") as a:
        a.put(make_voiceprint("alice", seed=2, name="Alice"))
        before = a.digest()
        with pytest.raises(InvalidReplicaError):
            records = [ReplicaRecord.from_json(r) for r in (speaker, rec)]
            a.apply_changes(records, TRANSPORT, actor="peer:nodeb")
        assert a.digest() == before
