"""A speaker keeps the clock of its latest deletion past a revival (speakers.deleted_hlc, migration 0004).

A voiceprint written before that clock never comes back: not from a peer that missed the deletion, not once
the speaker is re-enrolled, on a store upgraded from 0003 too. The clock travels with the speaker's record
(a peer's record without it still counts its own tombstone), and the row MAC covers it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, select, text, update

from engine.store import KeyFileProvider, VoiceprintStore, row_mac, schema
from engine.store.base import voiceprint_rows
from engine.store.errors import InvalidReplicaError, SpeakerRowTamperedError
from engine.store.hlc import HLCTimestamp
from engine.store.models import data_keys, speakers, voiceprints
from engine.store.replica import ClockEntry
from engine.store.replication import ReplicaRecord
from tests.engine.store.conftest import make_voiceprint

Opener = Callable[..., VoiceprintStore]
TRANSPORT = bytes(range(32))


def _send(src: VoiceprintStore, dst: VoiceprintStore, *, wire: Callable[[dict], dict] = lambda r: r) -> int:
    """Every record of ``src`` to ``dst`` through JSON, each passed through ``wire`` (what another version sends)."""
    records = [ReplicaRecord.from_json(wire(r.to_json())) for r in src.changes_since(None, TRANSPORT, limit=10_000)]
    return dst.apply_changes(records, TRANSPORT, actor=f"peer:{src.node_id}")


def _prints(store: VoiceprintStore, sid: str) -> dict[str, bool]:
    """model -> live, of a speaker's voiceprint rows."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(voiceprints.c.model_id, voiceprints.c.deleted).where(voiceprints.c.speaker_id == sid))
        return {r.model_id: not r.deleted for r in rows}


def _as_of_0003(store: VoiceprintStore) -> None:
    """Turn the store into what schema 0003 wrote: no deletion clock column, rows sealed without it."""
    with store.engine.begin() as conn:
        conn.execute(update(speakers).values(deleted_hlc=None))
        row_mac.seal(conn, store._row_key)
        cfg = schema._alembic_config(None)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")


def test_upgrade_from_0003_keeps_rows_and_a_deleted_speaker_keeps_its_clock(store_url: str, tmp_path: Path) -> None:
    """A 0003 store with a live and a deleted speaker opens at 0004; re-enrolling the deleted one refuses her
    voiceprint that a peer wrote before the deletion (its clock is the deleted row's own)."""
    key = KeyFileProvider(tmp_path / "master.key")
    a = VoiceprintStore.open(store_url, key, node_id="nodea")
    b = VoiceprintStore.open(tmp_path / "b.db", KeyFileProvider(tmp_path / "b.key"), node_id="nodeb")
    try:
        a.put(make_voiceprint("bob", seed=1, name="Bob"))
        a.put(make_voiceprint("alice", seed=2, name="Alice"))
        _send(a, b)
        b.put(make_voiceprint("alice", "ge2e", seed=3, dim=12))  # a never hears of it before the deletion
        a.delete_speaker("alice")
        _as_of_0003(a)
        assert schema.current_revision(a.engine) == "0003"
        assert "deleted_hlc" not in {c["name"] for c in inspect(a.engine).get_columns("speakers")}
        a.close()

        a = VoiceprintStore.open(store_url, key, node_id="nodea", model_id="campplus")
        assert schema.current_revision(a.engine) == schema.head_revision() == "0004"
        assert a.load_errors == [] and a.check_integrity() == []
        assert [(s.speaker_id, s.name) for s in a.list_speakers()] == [("bob", "Bob")]
        a.put(make_voiceprint("alice", seed=4, name="Alice"))  # revived after the upgrade
        _send(b, a)  # b's old ge2e voiceprint arrives after the revival
        assert a.get("alice", "ge2e") is None and _prints(a, "alice") == {"campplus": True, "ge2e": False}
        _send(a, b)
        assert b.get("alice", "ge2e") is None and "alice" not in b.matrix("ge2e")[0]
        assert b.get("alice", "campplus") is not None  # the revival itself stands
        assert a.digest() == b.digest()
    finally:
        a.close()
        b.close()


def test_a_deletion_clock_from_a_record_that_loses_is_still_kept(tmp_path: Path) -> None:
    """c locks alice without having heard of a's deletion; a's merged row carries the clock to b, whose own
    copy of that status change is as new: b still drops her voiceprints written before the deletion."""
    a, b, c = (VoiceprintStore.open(tmp_path / f"{n}.db", KeyFileProvider(tmp_path / f"{n}.key"), node_id=n)
               for n in ("na", "nb", "nc"))
    try:
        a.put(make_voiceprint("alice", seed=1, name="Alice"))
        _send(a, b)
        _send(a, c)
        b.put(make_voiceprint("alice", "ge2e", seed=2, dim=12))
        a.delete_speaker("alice")
        c.set_status("alice", "locked")  # newer than the deletion, unaware of it
        _send(c, b)
        _send(c, a)  # a: alive again, locked, and keeps the clock of its deletion
        with a.engine.connect() as conn:
            assert conn.execute(select(speakers.c.deleted_hlc)).scalar() is not None
        records = [r for r in a.changes_since(None, TRANSPORT) if r.kind == "speaker"]
        assert b.apply_changes(records, TRANSPORT, actor="peer:na") == 1  # same clock as b's row: only the deletion merges
        assert _prints(b, "alice") == {"campplus": False, "ge2e": False}  # both written before the deletion
        assert b.speaker("alice") is not None and b.speaker("alice").status == "locked"  # type: ignore[union-attr]
    finally:
        for s in (a, b, c):
            s.close()


def test_a_node_where_the_speaker_lives_on_changes_her_data_key(tmp_path: Path) -> None:
    """b re-enrolled alice on a third model across a's deletion: when the deletion reaches b, her older
    voiceprints go and the data key that sealed them is destroyed too; the newer one is resealed under a new key."""
    a, b = (VoiceprintStore.open(tmp_path / f"{n}.db", KeyFileProvider(tmp_path / f"{n}.key"), node_id=n)
            for n in ("na", "nb"))

    def wrapped(store: VoiceprintStore) -> bytes:
        with store.engine.connect() as conn:
            return bytes(conn.execute(select(data_keys.c.wrapped).where(data_keys.c.speaker_id == "alice")).scalar())

    try:
        a.put(make_voiceprint("alice", seed=1, name="Alice"))
        _send(a, b)
        b.put(make_voiceprint("alice", "ge2e", seed=2, dim=12))
        a.delete_speaker("alice")
        b.put(make_voiceprint("alice", "eres2netv2", seed=3, dim=16))  # newer than the deletion, unaware of it
        before = wrapped(b)
        _send(a, b)
        assert _prints(b, "alice") == {"campplus": False, "ge2e": False, "eres2netv2": True}
        assert wrapped(b) != before
        got = b.get("alice", "eres2netv2")
        assert got is not None and (got.mean == make_voiceprint("alice", "eres2netv2", seed=3, dim=16).mean).all()
        assert b.check_integrity() == []
        _send(b, a)
        assert a.digest() == b.digest() and a.get("alice", "eres2netv2") is not None
    finally:
        a.close()
        b.close()


def _alice_lives_on_across_a_deletion(tmp_path: Path) -> tuple[VoiceprintStore, VoiceprintStore]:
    """a deletes alice; b, unaware, had enrolled her on ge2e before it and enrols her on eres2netv2 after it."""
    a, b = (VoiceprintStore.open(tmp_path / f"{n}.db", KeyFileProvider(tmp_path / f"{n}.key"), node_id=n)
            for n in ("na", "nb"))
    a.put(make_voiceprint("alice", seed=1, name="Alice"))
    _send(a, b)
    b.put(make_voiceprint("alice", "ge2e", seed=2, dim=12))
    a.delete_speaker("alice")
    b.put(make_voiceprint("alice", "eres2netv2", seed=3, dim=16))
    return a, b


def test_a_refused_page_that_re_keyed_a_speaker_leaves_her_data_key_as_stored(tmp_path: Path) -> None:
    """The deletion reaches b in a page that is then refused whole (a record from a clock too far ahead): b keeps
    alice as she was, and her next enrolment is sealed under the data key b stores, so it opens after a restart."""
    a, b = _alice_lives_on_across_a_deletion(tmp_path)
    ahead = HLCTimestamp(time.time_ns() // 1_000_000 + 10 * 60_000, 0, "nz").encode()
    late = ReplicaRecord("speaker", ("zed",), ahead, "nz", "nz", False, {})
    try:
        records = [ReplicaRecord.from_json(r.to_json()) for r in a.changes_since(None, TRANSPORT)]
        with pytest.raises(ValueError, match="ahead of ours"):
            b.apply_changes([*records, late], TRANSPORT, actor="peer:na")
        assert _prints(b, "alice") == {"campplus": True, "ge2e": True, "eres2netv2": True}  # nothing applied
        assert b.get("alice", "eres2netv2") is not None
        b.put(make_voiceprint("alice", "campplus", seed=4))
        b.close()
        b = VoiceprintStore.open(tmp_path / "nb.db", KeyFileProvider(tmp_path / "nb.key"), node_id="nb")
        assert b.get("alice", "campplus") is not None and b.check_integrity() == []
    finally:
        a.close()
        b.close()


def test_sqlite_files_hold_no_key_or_ciphertext_a_replicated_deletion_took(tmp_path: Path) -> None:
    """As after a local deletion: once a deletion from a peer is applied (here re-keying a speaker who lives
    on), b's database files hold neither the data key it destroyed nor the ciphertext it dropped."""
    a, b = _alice_lives_on_across_a_deletion(tmp_path)
    try:
        with b.engine.connect() as conn:
            wrapped = bytes(conn.execute(select(data_keys.c.wrapped).where(data_keys.c.speaker_id == "alice")).scalar())
            old = conn.execute(voiceprint_rows().where(voiceprints.c.model_id == "ge2e")).one()
        raw = lambda: b"".join(p.read_bytes() for p in tmp_path.glob("nb.db*"))
        secrets = (wrapped, bytes(old.mean_ct), bytes(old.takes_ct))
        assert all(s[13:45] in raw() for s in secrets)  # the scan finds them
        _send(a, b)
        assert _prints(b, "alice") == {"campplus": False, "ge2e": False, "eres2netv2": True}
        after = raw()
        for secret in secrets:
            assert secret[13:45] not in after
    finally:
        a.close()
        b.close()


def test_a_peer_without_the_field_still_counts_its_tombstone(tmp_path: Path) -> None:
    """Records from a node of the previous version carry no deleted_hlc: the deletion they carry still counts."""
    a, b = (VoiceprintStore.open(tmp_path / f"{n}.db", KeyFileProvider(tmp_path / f"{n}.key"), node_id=n)
            for n in ("na", "nb"))

    def old(record: dict) -> dict:
        record["data"].pop("deleted_hlc", None)
        return record

    try:
        a.put(make_voiceprint("alice", seed=1, name="Alice"))
        _send(a, b)
        b.put(make_voiceprint("alice", "ge2e", seed=2, dim=12))
        a.delete_speaker("alice")
        _send(a, b, wire=old)  # b learns of the deletion from an old-format tombstone
        b.put(make_voiceprint("alice", seed=3, name="Alice"))  # and re-enrols her
        _send(b, a, wire=old)  # a merges it with its deletion clock, which the record lacks: stamped anew,
        _send(a, b)            # a's row goes back to b (a node of the previous version takes it, ignoring the clock)
        for store in (a, b):
            assert store.get("alice", "ge2e") is None and store.get("alice", "campplus") is not None
        with a.engine.connect() as conn:
            assert set(conn.execute(select(data_keys.c.speaker_id)).scalars()) == {"alice"}
        assert a.digest() == b.digest()
    finally:
        a.close()
        b.close()


def test_a_lowered_deletion_clock_is_refused(open_store: Opener) -> None:
    store = open_store()
    store.put(make_voiceprint("alice", seed=1, name="Alice"))
    store.delete_speaker("alice")
    store.put(make_voiceprint("alice", seed=2, name="Alice"))  # revived: the row now carries the clock
    assert store.speaker("alice") is not None
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE speakers SET deleted_hlc = NULL WHERE speaker_id = 'alice'"))
    with pytest.raises(SpeakerRowTamperedError, match="alice"):
        store.speaker("alice")


@pytest.mark.parametrize("forged", ["far-future", "garbage"])
def test_a_peer_cannot_bar_a_speaker_with_a_forged_deletion_clock(tmp_path: Path, forged: str) -> None:
    """A hostile member sets alice's deletion clock a year ahead (or to junk): every later enrolment of her would
    be refused cluster-wide. The clock is checked as the record's own is: the page is refused, nothing changes."""
    a, b = (VoiceprintStore.open(tmp_path / f"{n}.db", KeyFileProvider(tmp_path / f"{n}.key"), node_id=n)
            for n in ("na", "nb"))
    year_ahead = HLCTimestamp(int(time.time() * 1000) + 365 * 86_400_000, 0, "na").encode()

    def hostile(record: dict) -> dict:
        if record["kind"] == "speaker":
            record["data"]["deleted_hlc"] = year_ahead if forged == "far-future" else "not-a-clock"
        return record

    try:
        a.put(make_voiceprint("alice", seed=1, name="Alice"))
        with pytest.raises((ValueError, InvalidReplicaError),
                           match="ahead of ours" if forged == "far-future" else "'not-a-clock' is not a clock"):
            _send(a, b, wire=hostile)
        assert b.speaker("alice") is None and _prints(b, "alice") == {}  # the whole page refused: nothing taken
        with b.engine.connect() as conn:
            assert conn.execute(select(speakers.c.deleted_hlc)).scalars().all() == []
        _send(a, b)  # the honest records still merge afterwards
        b.put(make_voiceprint("alice", "ge2e", seed=2, dim=12))  # and her enrolment is not barred
        assert _prints(b, "alice") == {"campplus": True, "ge2e": True}
    finally:
        a.close()
        b.close()


def test_a_clock_written_out_of_its_fixed_width_cannot_win_every_merge(tmp_path: Path) -> None:
    """Clocks compare as text: '9.0.na' (9 ms after 1970) would sort after every real clock, so a hostile member
    could disable alice for good, and no later change anywhere would win over it. Such a record is refused."""
    a, b = (VoiceprintStore.open(tmp_path / f"{n}.db", KeyFileProvider(tmp_path / f"{n}.key"), node_id=n)
            for n in ("na", "nb"))
    try:
        a.put(make_voiceprint("alice", seed=1, name="Alice"))
        _send(a, b)
        a.set_status("alice", "disabled")

        def short(record: dict) -> dict:
            if record["kind"] == "speaker":
                record["hlc"] = "9.0.na"
            return record

        with pytest.raises(InvalidReplicaError, match="'9.0.na' is not a clock"):
            _send(a, b, wire=short)
        assert b.speaker("alice").status == "active"  # type: ignore[union-attr]
        with pytest.raises(InvalidReplicaError, match="is not a clock"):
            ClockEntry.from_json(["speaker", ["alice"], "9.0.na"])
    finally:
        a.close()
        b.close()


def _pull(src: VoiceprintStore, dst: VoiceprintStore) -> int:
    """What anti-entropy does from the start: list src's clocks, fetch the records dst lacks or holds older."""
    wanted = dst.newer_than_held(src.clocks_since(None, limit=100_000))
    records = src.records_for([(e.kind, e.key) for e in wanted], TRANSPORT)
    return dst.apply_changes([ReplicaRecord.from_json(r.to_json()) for r in records], TRANSPORT,
                             actor=f"peer:{src.node_id}")


def _deletion_clock(store: VoiceprintStore, sid: str) -> str | None:
    with store.engine.connect() as conn:
        return conn.execute(select(speakers.c.deleted_hlc).where(speakers.c.speaker_id == sid)).scalar()


def _stores(tmp_path: Path, *names: str) -> list[VoiceprintStore]:
    return [VoiceprintStore.open(tmp_path / f"{n}.db", KeyFileProvider(tmp_path / f"{n}.key"), node_id=n)
            for n in names]


def _later(store: VoiceprintStore, than: str) -> None:
    """Let ``store``'s next write be later than the clock ``than`` (other nodes' writes, seconds apart in life)."""
    while store.clock.now().encode() <= than:
        time.sleep(0.001)


def _deleted_then_locked_unaware(deleter: VoiceprintStore, locker: VoiceprintStore) -> str:
    """``deleter`` deletes alice; ``locker``, not having heard of it, locks her later. Returns the deletion clock."""
    deleter.delete_speaker("alice")
    deleted = _deletion_clock(deleter, "alice")
    assert deleted is not None
    _later(locker, deleted)
    locker.set_status("alice", "locked")  # newer than the deletion, unaware of it
    return deleted


def test_a_deletion_clock_merged_under_a_peers_clock_is_sent_back_to_it(tmp_path: Path) -> None:
    """B adds alice (a, c hear of her, not of a voiceprint), enrols her on ge2e and is then out of reach. a deletes
    her; c, unaware, locks her later. a pulls c's status change (it wins, a keeps its deletion clock); had a kept
    it under c's clock, c's pull would see the same clock and fetch nothing, and b's ge2e voiceprint from before
    the deletion, pulled next, would live on at c. a stamps the merged row anew, so c fetches it."""
    a, b, c = _stores(tmp_path, "na", "nb", "nc")
    try:
        b.create_speaker("alice", "Alice")
        _pull(b, a)
        _pull(b, c)
        b.put(make_voiceprint("alice", "ge2e", seed=2, dim=12))  # b is out of reach from here on
        deleted = _deleted_then_locked_unaware(a, c)
        assert _pull(c, a) == 1 and _deletion_clock(a, "alice") == deleted and a.speaker("alice") is not None
        merged = a.audit_entries(subject="alice")[-1]
        (stamped,) = (e.hlc for e in a.clocks_since(None) if e.kind == "speaker")
        assert merged["event"] == "replicated" and merged["fields"]["stamped"] == stamped > merged["fields"]["hlc"]
        assert a.verify_audit_chain().ok
        _pull(a, c)
        assert _deletion_clock(c, "alice") == deleted, "c never learns of the deletion"
        _pull(b, c)  # b's voiceprint from before the deletion
        assert _prints(c, "alice") == {"ge2e": False}, "the shredded ge2e voiceprint lives on at c"
        assert c.speaker("alice").status == "locked"  # type: ignore[union-attr]
        for src, dst in ((c, a), (a, c), (a, b), (c, b), (b, a), (b, c)):
            _pull(src, dst)
        assert _pull(a, c) == _pull(c, a) == 0  # the re-stamped row is not stamped again and again
        assert a.digest() == b.digest() == c.digest()
        for store in (a, b, c):
            assert _prints(store, "alice") == {"ge2e": False} and store.check_integrity() == []
            assert store.speaker("alice").status == "locked"  # type: ignore[union-attr]
    finally:
        for s in (a, b, c):
            s.close()


def test_a_deletion_clock_from_a_record_that_loses_is_sent_on_under_a_new_clock(tmp_path: Path) -> None:
    """x deletes alice and pushes it to a only, then is gone for good; a already holds c's later status change, so
    x's record loses there and a keeps only its deletion clock. c pulls from a: it must learn that clock (under
    c's own clock it would see nothing to fetch) before b's old ge2e voiceprint reaches it."""
    a, b, c, x = _stores(tmp_path, "na", "nb", "nc", "nx")
    try:
        b.create_speaker("alice", "Alice")
        for dst in (a, c, x):
            _pull(b, dst)
        b.put(make_voiceprint("alice", "ge2e", seed=2, dim=12))  # b is out of reach from here on
        deleted = _deleted_then_locked_unaware(x, c)
        _pull(c, a)
        _send(x, a)  # x's push: its deletion loses to c's status change at a
        assert _deletion_clock(a, "alice") == deleted
        _pull(a, c)
        assert _deletion_clock(c, "alice") == deleted, "c never learns of the deletion"
        _pull(b, c)
        assert _prints(c, "alice") == {"ge2e": False}, "the shredded ge2e voiceprint lives on at c"
        for src, dst in ((c, a), (a, c), (a, b), (c, b), (b, a), (b, c)):
            _pull(src, dst)
        assert a.digest() == b.digest() == c.digest()
    finally:
        for s in (a, b, c, x):
            s.close()


@pytest.mark.parametrize("old_print", ["held by m", "from b later"])
@pytest.mark.parametrize("how", ["tombstone over a print", "tombstone as a new row", "push after re-enrolment"])
def test_a_deletion_clock_raised_by_a_tombstone_is_sent_on_under_a_new_clock(tmp_path: Path, how: str,
                                                                             old_print: str) -> None:
    """a deletes alice; m, unaware, locks her later and n takes that lock. n then learns the deletion from a: by
    pulling, a's speaker record (older than the lock) is not fetched, only the campplus tombstone (over n's old
    campplus row, or as a new row); by a's push, the record loses but carries the clock. a is out of reach next.
    n re-enrols her on campplus after the deletion, m pulls from n: its speaker row has n's clock and n's live
    campplus is newer than the tombstone, so only a speaker row stamped anew can bring m the deletion clock before
    b's ge2e voiceprint from before the deletion lives on at m (already held, or pulled from b later).
    By push the speaker record brings the clock (a stamp of the merge as in the tests above); a pull (a tombstone
    applied record at a time over a row, or in bulk as a new one) must stamp the row too."""
    a, b, n, m = _stores(tmp_path, "na", "nb", "nn", "nm")
    try:
        b.create_speaker("alice", "Alice")
        for dst in (a, n, m):
            _pull(b, dst)
        a.put(make_voiceprint("alice", seed=1))  # her campplus voiceprint, before the deletion
        if how != "tombstone as a new row":
            _pull(a, n)
            _pull(a, m)
        b.put(make_voiceprint("alice", "ge2e", seed=2, dim=12))  # b is out of reach from here on
        deleted = _deleted_then_locked_unaware(a, m)
        _pull(m, n)
        if old_print == "held by m":
            _pull(b, m)  # after n took m's lock: n never held it (the deletion there would have sent it back dead)
        if how == "push after re-enrolment":
            n.put(make_voiceprint("alice", seed=3))  # newer than a's tombstone, which loses at n
            _send(a, n)
        else:
            assert _pull(a, n) == 1  # only the tombstone: a's speaker record is older than m's lock
            n.put(make_voiceprint("alice", seed=3))  # re-enrolled: the speaker row keeps its clock
        assert _deletion_clock(n, "alice") == deleted and n.speaker("alice").status == "locked"  # type: ignore[union-attr]
        (stamped,) = (e.hlc for e in n.clocks_since(None) if e.kind == "speaker")
        assert any(e["event"] == "replicated" and e["fields"].get("stamped") == stamped
                   for e in n.audit_entries(subject="alice"))
        assert n.verify_audit_chain().ok and n.check_integrity() == []
        _pull(n, m)  # a is out of reach from here on
        if old_print == "from b later":
            _pull(b, m)
        assert _prints(m, "alice") == {"campplus": True, "ge2e": False}, "the shredded ge2e voiceprint lives on at m"
        assert _deletion_clock(m, "alice") == deleted
        for src, dst in ((m, n), (n, m), (n, b), (m, b), (b, n), (b, m), (a, n), (n, a), (a, m), (m, a)):
            _pull(src, dst)
        assert _pull(n, m) == _pull(m, n) == _pull(a, n) == _pull(n, a) == 0  # no stamping again and again
        assert a.digest() == b.digest() == n.digest() == m.digest()
        for store in (a, b, n, m):
            assert _prints(store, "alice") == {"campplus": True, "ge2e": False}, store.node_id
            assert _deletion_clock(store, "alice") == deleted and store.check_integrity() == []
            assert store.speaker("alice").status == "locked"  # type: ignore[union-attr]
    finally:
        for s in (a, b, n, m):
            s.close()


def test_a_deleted_row_that_learns_a_later_deletion_is_not_stamped_anew(tmp_path: Path) -> None:
    """n deletes alice; a, unaware, deletes her later and re-enrols her on campplus, then reaches n with one page
    of its push only: the ge2e tombstone of its deletion (applied by clock, before her speaker record written
    after it). n raises the deletion clock of its deleted row but does not stamp the row anew (the guard in
    ``_take_tombstones_deletion``): the tombstones carry the later deletion themselves. m, which took n's
    deletion, then fetches the tombstones alone; a stamped row would be one more record for every peer, which
    m, taking it with the tombstones, would stamp anew in turn."""
    a, n, m = _stores(tmp_path, "na", "nn", "nm")
    try:
        a.create_speaker("alice", "Alice")
        a.put(make_voiceprint("alice", seed=1))
        a.put(make_voiceprint("alice", "ge2e", seed=2, dim=12))
        _pull(a, n)
        n.delete_speaker("alice")
        first = _deletion_clock(n, "alice")
        assert first is not None
        _pull(n, m)
        _later(a, first)
        a.delete_speaker("alice")
        later = _deletion_clock(a, "alice")
        assert later is not None and later > first
        a.put(make_voiceprint("alice", seed=3))  # re-enrolled after the deletion: her record is newer than it
        page = a.changes_since(None, TRANSPORT, limit=1)  # a is out of reach after its push's first page
        assert [(r.kind, r.key, r.hlc) for r in page] == [("voiceprint", ("alice", "ge2e"), later)]
        assert n.apply_changes([ReplicaRecord.from_json(r.to_json()) for r in page], TRANSPORT, actor="peer:na") == 1
        assert _deletion_clock(n, "alice") == later and n.speaker("alice") is None
        assert [e.hlc for e in n.clocks_since(None) if e.kind == "speaker"] == [first], "n stamped a deleted row"
        assert _pull(n, m) == 1  # the later deletion: its tombstones (the second one is then no news)
        assert _deletion_clock(m, "alice") == later
        assert {e.key[1]: e.hlc for e in m.clocks_since(None) if e.kind == "voiceprint"} == {"campplus": later,
                                                                                             "ge2e": later}
        assert m.digest() == n.digest() and _pull(m, n) == 0
    finally:
        for s in (a, n, m):
            s.close()
