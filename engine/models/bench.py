"""Benchmark command: median latency of ``embed_batch`` (features included) with random weights.

Run ``python -m engine.models.bench --model campplus --threads 2 --runs 20``. The machine's load
average and the OpenMP wait settings are printed beside the figures, because with more than one
thread they decide the result: torch's libgomp with ``OMP_WAIT_POLICY=PASSIVE`` puts its threads to
sleep between the network's ~600 small operations, so 2 threads ran CAM++ (3 s, traced) in 80-90 ms,
slower than 1 thread (60-65 ms); ``GOMP_SPINCOUNT=10000`` (spin about 0.1 ms, policy unset) gave
45-50 ms; ``ACTIVE`` gave 45-50 ms idle but 3-5 s per call beside two busy processes (0.1 s between calls).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from functools import partial

import numpy as np

from engine.config import ModelConfig
from engine.features import fbank
from engine.models.loader import load_model
from engine.models.registry import get_spec


def _median_ms(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall and process-CPU time of ``fn()`` in ms over ``runs`` calls, after two warm-ups.

    On a loaded machine wall time measures the queue; with one thread, CPU time is the work.
    """
    fn()
    fn()
    wall, cpu = [], []
    for _ in range(runs):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return float(np.median(wall) * 1000.0), float(np.median(cpu) * 1000.0)


def main(argv: list[str] | None = None) -> None:
    """Print fbank and embedding latency for 3 s and 10 s inputs, eager and traced."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="campplus")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seconds", type=float, nargs="+", default=[3.0, 10.0])
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    waits = " ".join(f"{k}={os.environ.get(k, '')}" for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT"))
    print(f"load average {os.getloadavg()[0]:.1f}; {waits}")
    traceable = get_spec(args.model).source == "modelscope"  # torch networks behind fbank features
    for trace in (False, True) if traceable else (False,):
        start = time.perf_counter()
        config = ModelConfig(model_id=args.model, threads=args.threads, trace=trace)
        model = load_model(config, random_weights=True)
        load_s = time.perf_counter() - start
        label = "traced" if getattr(model, "traced", False) else "eager"
        for seconds in args.seconds:
            wav = (rng.standard_normal(int(seconds * model.sample_rate)) * 0.1).astype(np.float32)
            feats_ms, feats_cpu = _median_ms(partial(fbank, wav), args.runs)
            embed_ms, embed_cpu = _median_ms(partial(model.embed_batch, [wav]), args.runs)
            print(
                f"{args.model} {label:6s} threads={args.threads} {seconds:4.1f} s: "
                f"fbank {feats_ms:6.1f} ms (cpu {feats_cpu:5.1f}), embed_batch incl. fbank {embed_ms:7.1f} ms "
                f"(cpu {embed_cpu:6.1f}), RTF {embed_ms / 1000 / seconds:.4f} (load {load_s:.1f} s, median of {args.runs})"
            )


if __name__ == "__main__":
    main()
