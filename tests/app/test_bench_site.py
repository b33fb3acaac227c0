"""`vomid bench site` with two nodes and a handful of requests: PostgreSQL, two `vomid serve` processes in site mode
and a real HAProxy in front; the figures and the JSON are there (speed is not tested)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main

KEYS = {"nodes", "enrol_to_verify_ms_p50", "enrol_to_verify_ms_p99", "identify_cross_node_ok", "verify_rps",
        "verify_ms_p50", "verify_ms_p99", "errors_during_kill", "lockout_sitewide", "pg_per_verify", "pg_per_enrol",
        "haproxy_retries", "haproxy_redispatches"}


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOMID_DATA_DIR", str(tmp_path / "data"))


def test_bench_site_with_two_nodes_identifies_across_nodes_and_survives_a_killed_node(
    tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "site.json"
    args = ["bench", "site", "--nodes", "2", "--model", "ge2e", "--audio", str(shared_data / "verification" / "en"),
            "--rounds", "2", "--requests", "12", "--concurrency", "3", "--stats-batch", "2", "--json", str(out)]
    assert main(args) == 0
    data = json.loads(out.read_text())
    assert KEYS <= data.keys()
    assert data["nodes"] == 2 and data["model"] == "ge2e"
    assert data["balancer_verify_accepted"] == data["balancer_enrolled"] > 0, "verifies through HAProxy failed"
    assert data["identify_cross_node_ok"] is True
    assert data["errors_during_kill"] == 0, data.get("first_error")
    assert data["servers_up_after_kill"] == 1, "HAProxy did not take the killed node out"
    assert isinstance(data["lockout_sitewide"], bool)
    assert data["enrol_to_verify_ms_p99"] >= data["enrol_to_verify_ms_p50"] > 0
    assert data["verify_rps"] > 0 and data["pg_per_verify"]["statements"] > 0
    assert data["pg_per_enrol"]["wal_bytes"] > data["pg_per_verify"]["wal_bytes"]
    printed = capsys.readouterr().out
    assert "SIGKILLed half way" in printed and "identify on node 1" in printed
