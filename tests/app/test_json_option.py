"""`--json [FILE]` means one thing on every command: the document alone on stdout, or in FILE with the text kept."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VOMID = [sys.executable, "-m", "app.cli"]


@pytest.fixture
def vomid(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Run the real `vomid` in a subprocess with a private data folder; returns the finished process."""
    env = {**os.environ, "VOMID_DATA_DIR": str(tmp_path / "data"), "VOMID_LOG_TO_FILE": "false"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*VOMID, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
                              check=False)
        assert done.returncode == 0, done.stderr
        return done

    return run


def test_bench_store_json_on_stdout_or_in_a_file(vomid, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    alone = vomid("bench", "store", "--speakers", "200", "--json")
    figures = json.loads(alone.stdout)  # nothing but the document on stdout
    assert figures["speakers"] == 200 and {"cold_start_s", "identify_ms", "enrol_write_ms"} <= figures.keys()
    assert "speakers 200: cold start" in alone.stderr  # the human summary moved to stderr
    out = tmp_path / "figures" / "bench.json"
    kept = vomid("bench", "store", "--speakers", "200", "--json", str(out))
    assert json.loads(out.read_text()).keys() == figures.keys()
    assert "speakers 200: cold start" in kept.stdout and "{" not in kept.stdout


def test_models_json_on_stdout_or_in_a_file(vomid, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    alone = vomid("models", "--json")
    listing = json.loads(alone.stdout)
    assert {"campplus", "ge2e"} <= {m["id"] for m in listing["models"]}
    assert "model cache:" in alone.stderr
    dash = vomid("models", "list", "--json", "-")
    assert json.loads(dash.stdout) == listing
    out = tmp_path / "models.json"
    kept = vomid("models", f"--json={out}")
    assert json.loads(out.read_text()) == listing
    assert kept.stdout.startswith("model cache:")


def test_a_created_api_key_goes_out_once_and_its_file_is_private(vomid, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    alone = vomid("keys", "create", "--scope", "verify", "--label", "lobby", "--json")
    created = json.loads(alone.stdout)
    assert created["key"].startswith("vmk_") and created["scopes"] == ["verify"]
    assert created["key_id"] in alone.stderr and created["key"] not in alone.stderr
    out = tmp_path / "key.json"
    kept = vomid("keys", "create", "--scope", "admin", "--json", str(out))
    in_file = json.loads(out.read_text())
    assert in_file.keys() == created.keys() and in_file["key"] != created["key"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert kept.stdout.strip().splitlines()[-1] == in_file["key"]  # the usual text still shows it once
    listed = json.loads(vomid("keys", "list", "--json").stdout)
    assert {k["key_id"] for k in listed} == {created["key_id"], in_file["key_id"]}
