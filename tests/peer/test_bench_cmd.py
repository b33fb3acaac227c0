"""`vomid bench node` runs end to end on a tiny plan and writes the figures it promises (not a timing test)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from app.commands import bench_node


def test_bench_node_writes_its_keys(tmp_path: Path, shared_data: Path) -> None:
    parser = argparse.ArgumentParser(prog="vomid")
    bench_node.add_bench_node(parser.add_subparsers().add_parser("bench").add_subparsers())
    out = tmp_path / "node.json"
    # The default model (real CAM++ weights): every timed verify must be a genuine one it accepts, or
    # five rejections lock the bench speaker and the figures time the lockout.
    args = parser.parse_args(["bench", "node", "--threads", "1", "--concurrency", "2",
                              "--requests", "24", "--gallery", "3", "--audio", str(shared_data / "verification" / "en"),
                              "--json", str(out)])
    assert args.func(args) == 0
    figures = json.loads(out.read_text())
    assert {"verify_ms_p50", "verify_ms_p99", "verify_rps", "unbatched_verify_rps", "batching_rps_gain",
            "cpu_ms_per_verify", "batching_cpu_gain"} <= set(figures)
    assert figures["requests"] == 24 and figures["errors"] == 0 and figures["unbatched_errors"] == 0
    assert figures["verify_ms_p99"] >= figures["verify_ms_p50"] > 0
