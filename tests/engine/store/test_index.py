"""The 1:N matrix follows writes: put, re-enrol, status changes and deletions, one model only."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine.gallery import Gallery
from engine.store import VoiceprintStore
from tests.engine.store.conftest import make_voiceprint

Opener = Callable[..., VoiceprintStore]


def _rows(store: VoiceprintStore, model: str = "campplus") -> dict[str, np.ndarray]:
    ids, mat = store.matrix(model)
    assert mat.dtype == np.float32 and mat.shape[0] == len(ids)
    return {sid: mat[i] for i, sid in enumerate(ids)}


def test_matrix_follows_put_status_and_remove(open_store: Opener) -> None:
    store = open_store(model_id="campplus")
    gallery: Gallery = store  # the engine facade sees only the protocol
    for i, sid in enumerate(["alice", "bob", "carol"]):
        gallery.put(make_voiceprint(sid, seed=i))
    gallery.put(make_voiceprint("alice", "resemblyzer", seed=10, dim=256))
    rows = _rows(store)
    assert sorted(rows) == ["alice", "bob", "carol"]
    assert np.allclose(rows["bob"], make_voiceprint("bob", seed=1).mean, atol=1e-6)
    assert store.matrix("resemblyzer")[1].shape == (1, 256)

    store.put(make_voiceprint("bob", seed=42))  # re-enrol replaces the row
    assert np.allclose(_rows(store)["bob"], make_voiceprint("bob", seed=42).mean, atol=1e-6)

    store.set_status("carol", "locked")
    assert sorted(_rows(store)) == ["alice", "bob"]
    assert gallery.get("carol", "campplus") is None
    store.set_status("carol", "active")
    assert np.allclose(_rows(store)["carol"], make_voiceprint("carol", seed=2).mean, atol=1e-6)

    assert gallery.remove("alice") is True
    assert sorted(_rows(store)) == ["bob", "carol"]
    assert store.matrix("resemblyzer")[0] == []


def test_a_disabled_speaker_that_re_enrols_stays_out_of_the_matrix(open_store: Opener) -> None:
    store = open_store(model_id="campplus")
    store.put(make_voiceprint("alice", seed=1))
    store.set_status("alice", "disabled")
    store.put(make_voiceprint("alice", seed=2))
    assert store.matrix("campplus")[0] == []
    store.set_status("alice", "active")
    assert np.allclose(_rows(store)["alice"], make_voiceprint("alice", seed=2).mean, atol=1e-6)


def test_a_matrix_handed_out_does_not_change_under_its_reader(open_store: Opener) -> None:
    store = open_store(model_id="campplus")
    for i in range(4):
        store.put(make_voiceprint(f"s{i}", seed=i))
    ids, mat = store.matrix("campplus")
    frozen = mat.copy()
    store.remove("s0")
    store.put(make_voiceprint("s1", seed=99))
    store.put(make_voiceprint("s9", seed=9))
    assert np.array_equal(mat, frozen) and ids == ["s0", "s1", "s2", "s3"]
    assert not mat.flags.writeable


def test_index_is_rebuilt_from_the_database_on_open(open_store: Opener) -> None:
    store = open_store()
    for i in range(3):
        store.put(make_voiceprint(f"s{i}", seed=i))
    store.set_status("s1", "disabled")
    store.close()
    fresh = open_store(model_id="campplus")
    rows = _rows(fresh)
    assert sorted(rows) == ["s0", "s2"]
    assert np.allclose(rows["s2"], make_voiceprint("s2", seed=2).mean, atol=1e-6)


def test_unknown_model_gives_an_empty_matrix(open_store: Opener) -> None:
    store = open_store()
    store.put(make_voiceprint("alice"))
    ids, mat = store.matrix("ecapa")
    assert ids == [] and mat.shape[0] == 0


def test_the_index_hands_out_unit_rows_and_a_broken_mean_never_matches() -> None:
    from engine.store.index import MeanIndex

    index = MeanIndex("campplus")
    index.load(["a", "b"], np.array([[3.0, 4.0], [np.nan, 1.0]], np.float32))  # a stored mean that is not unit
    index.upsert("c", np.array([0.0, 5.0], np.float32))
    ids, matrix = index.snapshot()
    assert ids == ["a", "b", "c"]
    assert np.allclose(matrix, [[0.6, 0.8], [0.0, 0.0], [0.0, 1.0]])  # searches may skip normalising
