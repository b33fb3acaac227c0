"""`vomid bench labels`: real-time factor of speaker labeling offline and of the live mode."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from app.commands.common import add_json_option, emit

DEFAULT_MODEL = "campplus-zh-en"  # engine.models.registry.DEFAULT_MODEL, without importing torch at start-up

DEFAULT_FILES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "diarization"


def add_bench_labels(bench_sub: argparse._SubParsersAction) -> None:
    """Register ``bench labels`` under ``vomid bench``."""
    p = bench_sub.add_parser(
        "labels", help="speaker labeling real-time factor, offline and live",
        description="Offline: label every recording given (default: ../shared/data/diarization/*.wav) with "
        "segmentation-3.0 and the embedding model, and report the real-time factor excluding and including "
        "model load. Live: play one recording through live mode as fast as it goes with the same models and "
        "report RTF and the worst backlog a real-time source would see.")
    p.add_argument("files", nargs="*", type=Path, help="recordings (default: the shared meeting excerpts)")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"embedding model (default {DEFAULT_MODEL})")
    p.add_argument("--live-model", help="embedding model of the live run (default: --model)")
    p.add_argument("--random-live-weights", action="store_true",
                   help="live run with random weights (times the architecture when its checkpoint is absent)")
    p.add_argument("--threads", type=int, default=1,
                   help="threads (default 1: on a busy 2-core machine two threads ran 3-4x slower)")
    p.add_argument("--repeat", type=int, default=4, help="times the live source file is played (default 4)")
    add_json_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run both benchmarks and print their figures."""
    from engine.labeling.bench import bench_live, bench_offline

    files = list(args.files) or sorted(DEFAULT_FILES.glob("*.wav"))
    if not files:
        print(f"error: no recordings given and none in {DEFAULT_FILES}", file=sys.stderr)
        return 2
    load_before = [round(v, 2) for v in os.getloadavg()]
    offline = bench_offline(files, args.model, threads=args.threads)
    live = bench_live(files[0], args.live_model or args.model, random_weights=args.random_live_weights,
                      threads=args.threads, repeat=args.repeat)
    result: dict[str, Any] = {"offline": offline, "live": live, "load_average_1_5_15": {
        "before": load_before, "after": [round(v, 2) for v in os.getloadavg()]}}
    emit(args, result, format_report(result))
    return 0


def format_report(r: dict[str, Any]) -> str:
    """The human summary: offline and live real-time factors, and the machine's load around them."""
    offline, live, load = r["offline"], r["live"], r["load_average_1_5_15"]
    return "\n".join([
        (f"offline ({offline['segmentation']} + {offline['model']}, {offline['threads']} thread(s), "
         f"{offline['files']} files, {offline['audio_s']} s): RTF {offline['rtf']} "
         f"(with model load {offline['rtf_with_load']}; load {offline['load_s']} s)"),
        (f"live ({live['model']}{', random weights' if live['random_weights'] else ''}, {live['audio_s']} s): "
         f"RTF {live['rtf']}, worst backlog {live['max_backlog_s']} s, {live['updates']} updates "
         f"(median {live['update_ms_p50']} ms, max {live['update_ms_max']} ms), "
         f"{'keeps up' if live['keeps_up'] else 'does NOT keep up'} with real time"),
        f"load average (1/5/15 min) before {load['before']}, after {load['after']}",
    ])
