"""`vomid bench`: benchmark commands; `bench engine` is the engine's (others register their own)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from app.commands.common import add_json_option, emit, settings_from


def add_parser(sub: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """Register ``bench`` and its ``engine`` subcommand; return bench's subparsers for others to extend."""
    bench = sub.add_parser("bench", help="benchmarks (engine, ...)",
                           description="Benchmarks. Figures are medians over repeated runs on this machine.")
    bench_sub = bench.add_subparsers(dest="bench_command", metavar="BENCH")
    bench.set_defaults(func=lambda args: _help(bench))
    p = bench_sub.add_parser(
        "engine", help="embedding real-time factor, verify latency, 1:N identify time",
        description="Time the engine: embed_rtf_3s / embed_rtf_10s (model with features), verify_ms_p50 / "
                    "verify_ms_p99 (3 s input end to end: VAD, quality checks, embedding, AS-norm score), "
                    "identify_1k_ms / identify_100k_ms (1:N search of one embedding over synthetic enrolments, "
                    "with AS-norm). Inputs are synthetic; the speed does not depend on them.")
    p.add_argument("--model", help="model id: campplus-zh-en (default), campplus, eres2netv2, ge2e (offline)")
    p.add_argument("--threads", type=int, default=1,
                   help="threads of the model (default 1: the embed_rtf figures are per core)")
    p.add_argument("--model-dir", type=Path, help="local directory or checkpoint file with the model weights")
    p.add_argument("--random-weights", action="store_true",
                   help="time the architecture with random weights (for a model whose checkpoint is not here)")
    p.add_argument("--audio", type=Path, metavar="FILE",
                   help="a recording of speech: verify is timed on 3 s of it through the whole gate (without "
                   "it, synthetic vowels skip the gate and embed only 0.5 s: a lower bound)")
    p.add_argument("--repeats", type=int, default=20, help="embedding runs per input length (default 20)")
    p.add_argument("--verify-repeats", type=int, default=200, help="verify runs (default 200)")
    p.add_argument("--identify-repeats", type=int, default=50, help="identify runs per gallery size (default 50)")
    add_json_option(p)
    p.set_defaults(func=run)
    return bench_sub


def _help(parser: argparse.ArgumentParser) -> int:
    """Print bench's help when no benchmark was named."""
    parser.print_help()
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the engine benchmark and print its figures."""
    from app.wiring import build_engine
    from engine.bench import BenchSettings, bench_engine

    settings = settings_from(args).model_copy(update={"threads": max(1, args.threads)})
    engine = build_engine(settings, model_id=args.model, random_weights=args.random_weights)
    speech = None
    if args.audio is not None:
        from engine.audio import load_audio

        samples = load_audio(args.audio).samples
        if len(samples) < 3 * 16_000:
            raise SystemExit(f"error: {args.audio} holds under 3 s of audio; give a longer recording")
        start = (len(samples) - 3 * 16_000) // 2
        speech = samples[start : start + 3 * 16_000]
    result = bench_engine(engine, BenchSettings(embed_repeats=args.repeats, verify_repeats=args.verify_repeats,
                                                identify_repeats=args.identify_repeats, speech=speech))
    emit(args, result, format_report(result))
    return 0


def format_report(r: dict[str, Any]) -> str:
    """The human summary of an engine benchmark."""
    head = f"model {r['model']} on {r['backend']}, {r['threads']} thread(s)"
    if r["random_weights"]:
        head += (" -- RANDOM WEIGHTS: the checkpoint is not on this machine; these figures time the "
                 "architecture only, its embeddings mean nothing")
    return "\n".join([
        head,
        f"embed 3 s    RTF {r['embed_rtf_3s']:.4f} ({r['embed_ms_3s']:.1f} ms, features included)",
        f"embed 10 s   RTF {r['embed_rtf_10s']:.4f} ({r['embed_ms_10s']:.1f} ms, features included)",
        (f"verify 3 s   p50 {r['verify_ms_p50']:.1f} ms, p99 {r['verify_ms_p99']:.1f} ms (VAD + gate + embed + AS-norm)"
         if r.get("verify_input") == "speech" else
         f"verify 3 s   p50 {r['verify_ms_p50']:.1f} ms, p99 {r['verify_ms_p99']:.1f} ms (synthetic input: no gate, "
         "0.5 s embedded; pass --audio FILE for a real sign-in)"),
        f"identify 1k  {r['identify_1k_ms']:.2f} ms (cosine only {r['identify_1k_cosine_ms']:.2f} ms)",
        f"identify 100k {r['identify_100k_ms']:.2f} ms (cosine only {r['identify_100k_cosine_ms']:.2f} ms)",
        (f"first identify after a 100k gallery changes (builds its matrix and AS-norm cohort): "
        f"{r['identify_100k_prepare_ms']:.1f} ms"),
    ])
