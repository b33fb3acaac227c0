"""One contract for every directory the kiosk and admin screens talk to: the in-memory fake the UI tests use,
and the encrypted store on SQLite and on PostgreSQL. A fake that passes here cannot hide a bug of the store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.kiosk.directory import Directory, MemoryDirectory
from engine.errors import InvalidNameError
from engine.store import KeyFileProvider, VoiceprintStore
from engine.store.errors import AuditFieldError, UnknownSpeakerIdError
from tests.engine.store.conftest import PgServer, make_voiceprint, pg_server  # noqa: F401 (the session's server)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def directory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Directory]:
    if request.param == "memory":
        yield MemoryDirectory()
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        server: PgServer = request.getfixturevalue("pg_server")
        name = server.create_database()
        request.addfinalizer(lambda: server.drop_database(name))
        url = server.url(name)
    store = VoiceprintStore.open(url, KeyFileProvider(tmp_path / "master.key"))
    yield store
    store.close()


def test_listed_speakers_carry_their_models_and_name(directory: Directory) -> None:
    directory.put(make_voiceprint("alice", "campplus-zh-en", name="Alice", seed=1))
    directory.put(make_voiceprint("alice", "ge2e", dim=256, seed=2))
    directory.put(make_voiceprint("bob", "campplus-zh-en", seed=3))
    listed = {s.speaker_id: s for s in directory.list_speakers()}
    assert list(listed) == ["alice", "bob"]
    assert tuple(listed["alice"].models) == ("campplus-zh-en", "ge2e") and listed["alice"].name == "Alice"
    assert tuple(listed["bob"].models) == ("campplus-zh-en",) and listed["bob"].status == "active"
    one = directory.speaker("alice")
    assert one is not None and tuple(one.models) == ("campplus-zh-en", "ge2e")


@pytest.mark.parametrize("value", [np.zeros(192, np.float32), b"RIFF\x00\x00", list(range(5000))])
def test_audit_refuses_audio_and_embeddings(directory: Directory, value: object) -> None:
    with pytest.raises(AuditFieldError, match="refused|longer"):
        directory.audit("verify", "local", speaker_id="alice", embedding=value)
    assert directory.audit_entries(subject="alice") == []


def test_audit_keeps_decisions(directory: Directory) -> None:
    directory.audit("verify", "local", speaker_id="alice", score=0.61, accepted=True, model_id="campplus-zh-en")
    (entry,) = directory.audit_entries(subject="alice")
    assert entry["event"] == "verify" and entry["actor"] == "local"
    assert entry["fields"]["score"] == pytest.approx(0.61) and entry["fields"]["accepted"] is True


def test_a_disabled_speaker_is_not_scored_until_active_again(directory: Directory) -> None:
    vp = make_voiceprint("alice", "campplus-zh-en", seed=1)
    directory.put(vp)
    directory.set_status("alice", "disabled", reason="left")
    assert directory.get("alice", "campplus-zh-en") is None and directory.matrix("campplus-zh-en")[0] == []
    speaker = directory.speaker("alice")
    assert speaker is not None and speaker.status == "disabled" and tuple(speaker.models) == ("campplus-zh-en",)
    directory.set_status("alice", "active")
    back = directory.get("alice", "campplus-zh-en")
    assert back is not None and np.allclose(back.mean, vp.mean, atol=1e-6)
    assert directory.matrix("campplus-zh-en")[0] == ["alice"]


def test_unknown_speaker_status_change_is_refused_the_same_way(directory: Directory) -> None:
    with pytest.raises(UnknownSpeakerIdError):
        directory.set_status("nobody", "disabled")


def test_deleting_a_speaker_removes_it_everywhere(directory: Directory) -> None:
    directory.put(make_voiceprint("alice", "campplus-zh-en", seed=1))
    directory.put(make_voiceprint("bob", "campplus-zh-en", seed=2))
    assert directory.delete_speaker("alice") is True
    assert directory.delete_speaker("alice") is False
    assert directory.speaker("alice") is None and directory.get("alice", "campplus-zh-en") is None
    assert [s.speaker_id for s in directory.list_speakers()] == ["bob"]
    assert directory.matrix("campplus-zh-en")[0] == ["bob"]
    assert [e["event"] for e in directory.audit_entries(subject="alice")][-1] == "speaker_deleted"


def test_a_put_files_one_enrol_entry_under_its_actor(directory: Directory) -> None:
    directory.put(make_voiceprint("alice", "campplus-zh-en", seed=1), actor="kiosk")
    (entry,) = directory.audit_entries(subject="alice")
    assert (entry["event"], entry["actor"], entry["subject"]) == ("enrol", "kiosk", "alice")
    assert entry["fields"]["model_id"] == "campplus-zh-en" and entry["fields"]["takes"] >= 1


READABLE = ["Zoë Ångström", "李雷", "محمد", "Ana María O'Neil", "می\u200cخواهم", "  Padded Name "]
HIDDEN = ["Bob\x00", "\x1b[31mRed", "Line\nbreak", "Bob\u202eecila", "\u2066Isolated", "Zero\u200bwidth", "   "]


def test_readable_names_are_kept_as_given(directory: Directory) -> None:
    for i, name in enumerate(READABLE):
        directory.put(make_voiceprint(f"p{i}", "campplus-zh-en", name=name, seed=i))
    assert [directory.speaker(f"p{i}").name for i in range(len(READABLE))] == READABLE  # type: ignore[union-attr]


@pytest.mark.parametrize("name", HIDDEN)
def test_names_with_hidden_or_reordering_characters_are_refused(directory: Directory, name: str) -> None:
    with pytest.raises(InvalidNameError) as info:
        directory.put(make_voiceprint("mallory", "campplus-zh-en", name=name, seed=9))
    assert "plain text" in info.value.message or "blank" in info.value.message
    assert directory.speaker("mallory") is None  # nothing was written
