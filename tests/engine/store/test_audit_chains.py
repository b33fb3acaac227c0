"""Per-node audit chains: nodes sharing one PostgreSQL database append side by side, and one verification
checks every node's chain (issue 15)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from engine.store import KeyFileProvider, VoiceprintStore
from engine.store.models import audit_log
from tests.engine.store.conftest import PgServer, make_voiceprint


@pytest.fixture
def two_nodes(pg_server: PgServer, tmp_path: Path) -> Iterator[tuple[VoiceprintStore, VoiceprintStore]]:
    name = pg_server.create_database()
    url, key = pg_server.url(name), tmp_path / "master.key"
    a = VoiceprintStore.open(url, KeyFileProvider(key), node_id="node-a")
    b = VoiceprintStore.open(url, KeyFileProvider(key), node_id="node-b")
    try:
        yield a, b
    finally:
        a.close()
        b.close()
        pg_server.drop_database(name)


def test_a_node_writes_while_another_nodes_write_transaction_is_open(
    two_nodes: tuple[VoiceprintStore, VoiceprintStore],
) -> None:
    """One node's slow write (here: held open) no longer holds up every other node's writes."""
    a, b = two_nodes
    inside, release = threading.Event(), threading.Event()

    def slow_write_on_a() -> None:
        with a._write(speakers=["alice"]) as conn:
            a._audit(conn, "verify", "local", {"speaker_id": "alice", "decision": "accept"})
            inside.set()
            release.wait(30)

    holder = threading.Thread(target=slow_write_on_a, name="test-slow-writer")
    holder.start()
    try:
        assert inside.wait(10)
        done = threading.Event()

        def writes_on_b() -> None:
            b.audit("verify", "local", speaker_id="bob", decision="reject")
            b.put(make_voiceprint("bob", seed=2))
            b.set_status("bob", "disabled")
            done.set()

        writer = threading.Thread(target=writes_on_b, name="test-b-writer")
        writer.start()
        finished = done.wait(10)
        release.set()
        writer.join()
        assert finished, "node b's writes waited for node a's open transaction"
    finally:
        release.set()
        holder.join()
    report = a.verify_audit_chain()
    assert report.ok, report.problems
    assert report.nodes == {"node-a": 2, "node-b": 3}  # node a created the store


def test_the_same_speaker_is_still_written_by_one_node_at_a_time(
    two_nodes: tuple[VoiceprintStore, VoiceprintStore],
) -> None:
    a, b = two_nodes
    a.put(make_voiceprint("alice", seed=1))
    inside, release = threading.Event(), threading.Event()

    def hold_alice() -> None:
        with a._write(speakers=["alice"]):
            inside.set()
            release.wait(30)

    holder = threading.Thread(target=hold_alice, name="test-alice-holder")
    holder.start()
    assert inside.wait(10)
    done = threading.Event()
    writer = threading.Thread(target=lambda: (b.delete_speaker("alice"), done.set()), name="test-deleter")
    writer.start()
    try:
        assert not done.wait(0.5), "node b changed alice while node a held her"
    finally:
        release.set()
        holder.join()
        writer.join()
    assert done.is_set() and a.speaker("alice") is None


def test_concurrent_nodes_chains_verify_together_and_damage_to_either_is_found(
    two_nodes: tuple[VoiceprintStore, VoiceprintStore],
) -> None:
    a, b = two_nodes

    def busy(store: VoiceprintStore, who: str) -> None:
        for i in range(15):
            store.audit("verify", "local", speaker_id=f"{who}{i}", decision="accept")
            if i % 5 == 0:
                store.put(make_voiceprint(f"{who}{i}", seed=i))

    threads = [threading.Thread(target=busy, args=(s, w), name=f"test-busy-{w}") for s, w in ((a, "a"), (b, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report = b.verify_audit_chain()
    assert report.ok, report.problems
    assert report.entries == 1 + 2 * 18 and report.nodes == {"node-a": 19, "node-b": 18}

    with a.engine.begin() as conn:
        a_seqs = conn.execute(select(audit_log.c.seq).where(audit_log.c.node_id == "node-a")
                              .order_by(audit_log.c.seq)).scalars().all()
        b_last = conn.execute(select(func.max(audit_log.c.seq)).where(audit_log.c.node_id == "node-b")).scalar_one()
        conn.execute(delete(audit_log).where(audit_log.c.seq == a_seqs[5]))  # out of node a's chain
        conn.execute(delete(audit_log).where(audit_log.c.seq == b_last))  # the newest of node b's
    report = a.verify_audit_chain()
    assert a_seqs[6] in report.bad_seqs
    assert any("does not link" in p.reason for p in report.problems if p.seq == a_seqs[6])
    assert any(p.seq == b_last and "newest entries were removed" in p.reason for p in report.problems)


def test_vomid_audit_verify_on_any_node_checks_every_nodes_chain(
    two_nodes: tuple[VoiceprintStore, VoiceprintStore], capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse
    import json

    from sqlalchemy import update

    from app.commands.store_cmds import add_store_commands

    a, b = two_nodes
    a.audit("verify", "local", speaker_id="alice", decision="accept")
    b.audit("verify", "local", speaker_id="bob", decision="accept")
    parser = argparse.ArgumentParser(prog="vomid")
    add_store_commands(parser.add_subparsers(dest="command"), lambda args: VoiceprintStore.open(
        a.url, KeyFileProvider(a._provider.path), node_id="node-a"))  # type: ignore[attr-defined]

    def vomid(*argv: str) -> tuple[int, str]:
        args = parser.parse_args(list(argv))
        return args.func(args), capsys.readouterr().out

    code, out = vomid("audit", "verify", "--json")
    assert code == 0 and json.loads(out) == {"ok": True, "entries": 3, "problems": []}
    with b.engine.begin() as conn:  # node b's entry, verified from node a
        seq = conn.execute(select(audit_log.c.seq).where(audit_log.c.node_id == "node-b")).scalar_one()
        conn.execute(update(audit_log).where(audit_log.c.seq == seq).values(actor="forged"))
    code, out = vomid("audit", "verify")
    assert code == 1 and f"entry {seq}: content does not match its MAC" in out


def test_a_nodes_chain_removed_whole_with_its_head_is_found(
    two_nodes: tuple[VoiceprintStore, VoiceprintStore],
) -> None:
    from engine.store import audit
    from engine.store.models import meta

    a, b = two_nodes
    a.audit("verify", "local", speaker_id="alice", decision="accept")
    b.audit("verify", "local", speaker_id="bob", decision="accept")
    assert a.verify_audit_chain().ok
    with a.engine.begin() as conn:  # every trace of node b: its entries and its head
        conn.execute(delete(audit_log).where(audit_log.c.node_id == "node-b"))
        conn.execute(delete(meta).where(meta.c.key == audit.head_key("node-b")))
    reasons = [p.reason for p in a.verify_audit_chain().problems]
    assert reasons == ["the whole chain of node-b was removed"]
    with a.engine.begin() as conn:  # and taking node b off the register is seen too
        conn.execute(meta.update().where(meta.c.key == audit.REGISTER_KEY)
                     .values(value=b'{"chains": ["audit_head:node-a"], "mac": "0"}'))
    assert a.verify_audit_chain().problems[0].reason == "the register of audit chains was edited"
