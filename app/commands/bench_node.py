"""`vomid bench node`: verify latency and throughput of a node it starts on loopback (not a test)."""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path
from typing import Any

from app.commands.common import add_json_option, emit, settings_from

REPO = Path(__file__).resolve().parents[2]
DEFAULT_AUDIO = REPO.parent / "shared" / "data" / "verification" / "en"


def add_bench_node(bench_subparsers: argparse._SubParsersAction) -> None:
    """Register ``bench node`` under ``vomid bench``."""
    p = bench_subparsers.add_parser(
        "node", help="verify latency and throughput over HTTPS at a concurrency, with and without micro-batching",
        description="Start a node on loopback (TLS, temporary store), enrol one speaker from real audio plus a "
        "synthetic gallery, then send verify requests with 3 s of audio from CONCURRENCY clients. Reports "
        "verify_ms_p50, verify_ms_p99 and verify_rps; then the same without micro-batching (unbatched_*) and "
        "the gain. Bounded by --requests and --max-seconds.")
    p.add_argument("--model", help="model id: campplus (default), eres2netv2, ge2e (offline)")
    p.add_argument("--model-dir", type=Path, help="local directory or checkpoint file with the model weights")
    p.add_argument("--random-weights", action="store_true", help="time the architecture with random weights")
    p.add_argument("--threads", type=int, help="threads of the model (default: the threads setting, 1)")
    p.add_argument("--concurrency", type=int, default=4, help="concurrent clients (default 4)")
    p.add_argument("--requests", type=int, default=200, help="verify requests per run (default 200)")
    p.add_argument("--max-seconds", type=float, default=60.0, help="stop a run after this long (default 60)")
    p.add_argument("--gallery", type=int, default=100, help="synthetic enrolled speakers for AS-norm (default 100)")
    p.add_argument("--audio", type=Path, default=DEFAULT_AUDIO, help="folder of speaker folders with real speech")
    p.add_argument("--no-compare", action="store_true", help="skip the run without micro-batching")
    add_json_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the node benchmark and print its figures."""
    from engine.models import load_model
    from peer.bench import BenchPlan, bench_node

    settings = settings_from(args)
    config = settings.engine_config(model_id=args.model)
    if args.threads:
        config = dataclasses.replace(config, model=dataclasses.replace(config.model, threads=args.threads))
    model = load_model(config.model, random_weights=args.random_weights)
    plan = BenchPlan(concurrency=args.concurrency, requests=args.requests, max_seconds=args.max_seconds,
                     gallery=args.gallery)
    result = bench_node(model, config, args.audio, plan, compare=not args.no_compare)
    result["random_weights"] = bool(args.random_weights)
    result["torch_threads"] = config.model.threads
    result["load_average_1m"] = round(os.getloadavg()[0], 2)
    emit(args, result, format_report(result))
    return 0


def format_report(r: dict[str, Any]) -> str:
    """The human summary."""
    head = (f"node bench: model {r['model']}{' (RANDOM WEIGHTS)' if r.get('random_weights') else ''}, "
            f"{r['torch_threads']} torch thread(s), {r['concurrency']} concurrent clients, {r['attempt_s']:g} s audio, "
            f"{r['gallery']} enrolled, load average {r['load_average_1m']}")
    batched = (f"batched    verify p50 {r['verify_ms_p50']} ms, p99 {r['verify_ms_p99']} ms, {r['verify_rps']} req/s "
               f"({r['requests']} ok, {r['errors']} errors, mean batch {r['mean_batch']}, "
               f"{r['cpu_ms_per_verify']} CPU ms/verify)")
    lines = [head, batched]
    if "unbatched_verify_rps" in r:
        lines.append(f"unbatched  verify p50 {r['unbatched_verify_ms_p50']} ms, p99 {r['unbatched_verify_ms_p99']} ms, "
                     f"{r['unbatched_verify_rps']} req/s ({r['unbatched_requests']} ok, {r['unbatched_errors']} errors, "
                     f"{r['unbatched_cpu_ms_per_verify']} CPU ms/verify)")
        lines.append(f"micro-batching gain: throughput x{r.get('batching_rps_gain')}, "
                     f"CPU per verify x{r.get('batching_cpu_gain')}")
    if r.get("first_error"):
        lines.append(f"first error: {r['first_error']}")
    return "\n".join(lines)
