"""`vomid` for the cluster tests' node processes: the real CLI plus the cluster commands (until app/cli.py lists them)."""

from __future__ import annotations

import argparse
import json
import os
import sys

from app import cli
from app.commands import bench_cluster, cluster_cmd

_build = cli.build_parser


def build_parser() -> argparse.ArgumentParser:
    """The CLI's parser with `cluster` and `bench cluster` added when app/cli.py does not list them yet."""
    parser = _build()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if "cluster" not in sub.choices:
        cluster_cmd.add_parser(sub)
    bench_sub = next(a for a in sub.choices["bench"]._actions if isinstance(a, argparse._SubParsersAction))
    if "cluster" not in bench_sub.choices:
        bench_cluster.add_bench_cluster(bench_sub)
    return parser


def _patch_timings() -> None:
    """Faster protocol timings for test processes (peer.const is the one place they live)."""
    from peer import const

    for name, value in json.loads(os.environ.get("VOMID_TEST_PEER_CONST", "{}")).items():
        setattr(const, name, value)


def _hold_model_while_gate_exists() -> None:
    """Test hook: while the file VOMID_TEST_HOLD_MODEL names exists, model calls wait (``<file>.held`` says one does).

    The tests fill a node's embedding queue with it deterministically, without depending on how fast the model is.
    """
    gate = os.environ.get("VOMID_TEST_HOLD_MODEL")
    if not gate:
        return
    import time
    from pathlib import Path

    from peer.batching import BatchingModel

    path, held, execute = Path(gate), Path(gate + ".held"), BatchingModel._execute

    def held_execute(self: BatchingModel, jobs: list) -> None:  # type: ignore[type-arg]
        if path.exists():
            held.touch()
            while path.exists():
                time.sleep(0.02)
        execute(self, jobs)

    BatchingModel._execute = held_execute  # type: ignore[method-assign]


if __name__ == "__main__":
    _patch_timings()
    _hold_model_while_gate_exists()
    cli.build_parser = build_parser
    sys.exit(cli.main(sys.argv[1:]))
