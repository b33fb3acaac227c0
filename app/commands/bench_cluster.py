"""`vomid bench cluster`: enrol-to-verify latency across 3 node processes and convergence after a partition."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_bench_cluster(bench_sub: argparse._SubParsersAction) -> None:
    """Register ``bench cluster``."""
    p = bench_sub.add_parser("cluster", help="cluster replication: enrol-to-verify latency, partition convergence")
    p.add_argument("--json", type=Path, metavar="OUT", help="write the figures as JSON to OUT ('-' for stdout)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Not written yet."""
    raise SystemExit("bench cluster: not implemented yet")
