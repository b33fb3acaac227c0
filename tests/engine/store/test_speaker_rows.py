"""Names and statuses are stored in clear (they are listed and filtered), so each speaker row carries a MAC:
a name or status edited in the database behind the app's back is refused with a clear error, never used."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import text

from engine.store import VoiceprintStore
from engine.store.errors import SpeakerRowTamperedError
from tests.engine.store.conftest import make_voiceprint

Opener = Callable[..., VoiceprintStore]


def edit(store: VoiceprintStore, sql: str) -> None:
    """What someone with the database file (or a SQL login) can do."""
    with store.engine.begin() as conn:
        conn.execute(text(sql))


def test_an_edited_name_is_refused(open_store: Opener) -> None:
    store = open_store()
    store.put(make_voiceprint("alice", seed=1, name="Alice"))
    store.put(make_voiceprint("bob", seed=2, name="Bob"))
    edit(store, "UPDATE speakers SET name = 'Mallory' WHERE speaker_id = 'alice'")
    with pytest.raises(SpeakerRowTamperedError, match="alice"):
        store.speaker("alice")
    with pytest.raises(SpeakerRowTamperedError, match="alice"):
        store.get("alice", "campplus")
    with pytest.raises(SpeakerRowTamperedError, match="alice"):
        store.list_speakers()
    with pytest.raises(SpeakerRowTamperedError):  # and no write builds on it (which would seal it afresh)
        store.set_status("alice", "disabled")
    bob = store.speaker("bob")
    assert bob is not None and bob.name == "Bob"  # the others are untouched
    assert [p for p in store.check_integrity() if "speaker" in p] == [str(SpeakerRowTamperedError(
        "speaker alice", "name or status was changed outside the app (the row's MAC does not match); it is not "
        "used: restore the store from a backup (`vomid restore`)"))]


def test_a_disabled_speaker_switched_back_on_in_the_database_is_not_scored(open_store: Opener) -> None:
    store = open_store()
    store.put(make_voiceprint("alice", seed=1, name="Alice"))
    store.put(make_voiceprint("bob", seed=2, name="Bob"))
    store.set_status("bob", "disabled")
    store.close()
    edit(store, "UPDATE speakers SET status = 'active' WHERE speaker_id = 'bob'")
    reopened = open_store(model_id="campplus")
    ids, _ = reopened.matrix("campplus")
    assert ids == ["alice"]
    assert [(type(e), e.record) for e in reopened.load_errors] == [(SpeakerRowTamperedError, "voiceprint bob/campplus")]
    with pytest.raises(SpeakerRowTamperedError, match="bob"):
        reopened.get("bob", "campplus")


def test_a_row_copied_over_another_speakers_is_refused(open_store: Opener) -> None:
    store = open_store()
    store.put(make_voiceprint("alice", seed=1, name="Alice"))
    store.put(make_voiceprint("bob", seed=2, name="Bob"))
    edit(store, "UPDATE speakers SET row_mac = (SELECT row_mac FROM speakers WHERE speaker_id = 'bob'), "
                "name = 'Bob' WHERE speaker_id = 'alice'")
    with pytest.raises(SpeakerRowTamperedError, match="alice"):
        store.speaker("alice")


def test_ordinary_changes_keep_rows_valid(open_store: Opener) -> None:
    store = open_store()
    store.put(make_voiceprint("alice", seed=1, name="Alice"))
    store.put(make_voiceprint("alice", seed=3, name="Alice Smith"))  # renamed by a new enrolment
    store.set_status("alice", "locked")
    store.set_status("alice", "active")
    store.create_speaker("carol", "Carol")
    store.delete_speaker("carol")
    store.close()
    reopened = open_store(model_id="campplus")
    assert reopened.load_errors == []
    assert [(s.speaker_id, s.name, s.status) for s in reopened.list_speakers()] == [("alice", "Alice Smith", "active")]
    assert reopened.get("alice", "campplus") is not None
