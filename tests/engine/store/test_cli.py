"""The store subcommands parse, print and return exit codes that scripts can rely on."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from sqlalchemy import update

from app.commands.store_cmds import add_bench_store, add_store_commands
from engine.store import KeyFileProvider, VoiceprintStore
from engine.store.models import audit_log
from tests.engine.store.conftest import make_voiceprint


@pytest.fixture
def vomid(store_url: str, key_path: Path):  # type: ignore[no-untyped-def]
    """Run ``vomid <store command>`` in process against the test's store; returns (exit code, stdout)."""

    def open_store(args: argparse.Namespace) -> VoiceprintStore:
        return VoiceprintStore.open(store_url, KeyFileProvider(key_path), model_id="campplus")

    parser = argparse.ArgumentParser(prog="vomid")
    sub = parser.add_subparsers(dest="command")
    add_store_commands(sub, open_store)
    bench = sub.add_parser("bench").add_subparsers(dest="bench_command")
    add_bench_store(bench)

    def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
        args = parser.parse_args(list(argv))
        code = args.func(args)
        return code, capsys.readouterr().out

    with VoiceprintStore.open(store_url, KeyFileProvider(key_path)) as store:
        store.put(make_voiceprint("alice", seed=1, name="Alice"))
        store.put(make_voiceprint("bob", seed=2, name="Bob"))
    return run


def test_speakers_commands(vomid, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    code, out = vomid(capsys, "speakers", "list", "--json")
    assert code == 0 and [s["speaker_id"] for s in json.loads(out)] == ["alice", "bob"]
    assert vomid(capsys, "speakers", "disable", "bob", "--reason", "left the company")[0] == 0
    code, out = vomid(capsys, "speakers", "list", "--status", "disabled")
    assert "bob" in out and "alice" not in out
    assert vomid(capsys, "speakers", "enable", "bob")[0] == 0
    code, out = vomid(capsys, "speakers", "show", "bob", "--json")
    assert json.loads(out)["status"] == "active"
    assert vomid(capsys, "speakers", "show", "nobody")[0] == 1
    code, out = vomid(capsys, "speakers", "delete", "bob", "--yes")
    assert code == 0 and "data key is destroyed" in out
    assert vomid(capsys, "speakers", "delete", "bob", "--yes")[0] == 1


def test_delete_without_yes_and_no_terminal_refuses(
    vomid, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert vomid(capsys, "speakers", "delete", "alice")[0] == 1
    code, out = vomid(capsys, "speakers", "show", "alice", "--json")
    assert code == 0 and json.loads(out)["speaker_id"] == "alice"


def test_audit_verify_exit_code_follows_the_chain(
    vomid, capsys: pytest.CaptureFixture[str], store_url: str, key_path: Path
) -> None:  # type: ignore[no-untyped-def]
    code, out = vomid(capsys, "audit", "verify", "--json")
    assert code == 0 and json.loads(out)["ok"] is True
    with VoiceprintStore.open(store_url, KeyFileProvider(key_path)) as store, store.engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 2).values(actor="forged"))
    code, out = vomid(capsys, "audit", "verify")
    assert code == 1 and "entry 2" in out


def test_backup_restore_export_and_keys(vomid, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    archive = tmp_path / "b.vbk"
    assert vomid(capsys, "backup", str(archive))[0] == 0
    assert vomid(capsys, "speakers", "delete", "alice", "--yes")[0] == 0
    assert vomid(capsys, "restore", str(archive), "--yes")[0] == 0
    code, out = vomid(capsys, "export", "alice")
    data = json.loads(out)
    assert code == 0 and data["speaker"]["name"] == "Alice" and "mean" not in data["voiceprints"][0]
    code, out = vomid(capsys, "export", "alice", "--include-embeddings")
    assert len(json.loads(out)["voiceprints"][0]["mean"]) == 192
    code, out = vomid(capsys, "keys", "create", "--scope", "verify", "--label", "lobby")
    plaintext = out.strip().splitlines()[-1]
    assert code == 0 and plaintext.startswith("vmk_")
    code, out = vomid(capsys, "keys", "list", "--json")
    key_id = json.loads(out)[0]["key_id"]
    assert plaintext not in out
    assert vomid(capsys, "keys", "revoke", key_id)[0] == 0
    code, out = vomid(capsys, "keys", "rotate", "--json")
    rotated = json.loads(out)
    assert code == 0 and rotated["old_key_id"] != rotated["new_key_id"]
    code, out = vomid(capsys, "speakers", "show", "alice", "--json")
    assert code == 0


def test_bench_store_writes_its_figures(vomid, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out_file = tmp_path / "bench.json"
    code, out = vomid(capsys, "bench", "store", "--speakers", "300", "--json", str(out_file))
    figures = json.loads(out_file.read_text())
    assert code == 0 and figures["speakers"] == 300
    assert {"cold_start_s", "identify_ms", "enrol_write_ms"} <= set(figures)
    assert "cold start" in out
