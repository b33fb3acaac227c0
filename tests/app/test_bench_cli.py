"""`vomid bench engine` with tiny repeat counts: the figures and the JSON are there (speed is not tested)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main

KEYS = {"embed_rtf_3s", "embed_rtf_10s", "verify_ms_p50", "verify_ms_p99", "identify_1k_ms", "identify_100k_ms"}
TINY = ["--repeats", "1", "--verify-repeats", "2", "--identify-repeats", "1"]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOMID_DATA_DIR", str(tmp_path / "data"))


def test_bench_engine_writes_every_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    assert main(["bench", "engine", "--model", "ge2e", *TINY, "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert KEYS <= data.keys()
    assert data["model"] == "ge2e" and data["random_weights"] is False
    assert all(data[k] > 0 for k in KEYS)
    assert data["verify_ms_p99"] >= data["verify_ms_p50"]
    printed = capsys.readouterr().out
    assert "identify 100k" in printed and "RANDOM WEIGHTS" not in printed


def test_bench_with_random_weights_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "engine", "--model", "campplus", "--random-weights", *TINY, "--json"]) == 0
    printed = capsys.readouterr()
    assert "RANDOM WEIGHTS: the checkpoint is not on this machine" in printed.err  # the text keeps off the JSON
    data = json.loads(printed.out)
    assert data["model"] == "campplus" and data["random_weights"] is True and KEYS <= data.keys()


def test_bench_without_a_benchmark_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench"]) == 0
    assert "engine" in capsys.readouterr().out
