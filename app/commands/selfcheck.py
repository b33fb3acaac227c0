"""`vomid selfcheck`: models load, audio decodes, an enrol-verify round trip runs."""

from __future__ import annotations

import argparse
import io
import time
from typing import Any

import numpy as np

from app.commands.common import add_common, emit, settings_from
from engine.errors import ModelUnavailableError

NEXT_STEP = """\
Next step: enrol your own voice from three recordings (WAV, FLAC, MP3, M4A or OGG; 5-10 s each):
  .venv/bin/vomid enrol me take1.wav take2.wav take3.wav --name "Your Name" --model {model}
  .venv/bin/vomid verify me attempt.wav --model {model}
The default model (CAM++ zh-en) came with `vomid models install`; `vomid models` lists what is installed.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the selfcheck command."""
    p = sub.add_parser(
        "selfcheck",
        help="check that the engine works on this machine",
        description="Load the configured model (or the offline one if it cannot load), decode audio, run VAD "
        "and an enrol/verify round trip on synthesized voices. Exit 0 when every step passes.",
    )
    add_common(p)
    p.set_defaults(func=run)


def _load(settings: Any, model_id: str | None) -> tuple[Any, list[str]]:
    from app.wiring import build_engine

    notes: list[str] = []
    try:
        return build_engine(settings, model_id=model_id), notes
    except ModelUnavailableError as exc:
        notes.append(f"configured model unavailable: {exc}")
        notes.append("running the self-check with the offline model ge2e instead (its weights ship in its package)")
        return build_engine(settings, model_id="ge2e"), notes


def run(args: argparse.Namespace) -> int:
    """Run every check; print a report and the next step."""
    from engine.synth import SynthVoice, synthesize

    settings = settings_from(args)
    steps: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    engine, notes = _load(settings, None)
    steps.append({"step": "model", "ok": True, "model": engine.model_id, "seconds": round(time.perf_counter() - t0, 2)})

    voices = {"A": SynthVoice(110, 1.0), "B": SynthVoice(205, 1.17)}
    takes = {k: [synthesize(v, 4.0, seed=s) for s in range(4)] for k, v in voices.items()}
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, takes["A"][0].samples, 16000, format="FLAC")
    from engine.audio import load_audio

    decoded = load_audio(buf.getvalue())
    decode_ok = abs(decoded.duration - takes["A"][0].duration) < 0.01
    steps.append({"step": "decode", "ok": decode_ok, "seconds_decoded": round(decoded.duration, 2)})
    segments = engine.vad.segments(decoded)
    steps.append({"step": "vad", "ok": True, "segments": len(segments)})

    # Synthetic vowels are not speech to the VAD, so the quality gate is bypassed (purpose=None) here.
    emb = {k: [engine.embed(w, purpose=None).vector for w in ws] for k, ws in takes.items()}
    enrol = np.mean(emb["A"][:3], axis=0)
    same = engine.score(enrol, emb["A"][3])
    other = engine.score(enrol, emb["B"][3])
    steps.append({"step": "round_trip", "ok": bool(same > other), "same_voice": round(same, 3), "other_voice": round(other, 3)})

    ok = all(s["ok"] for s in steps)
    lines = [*(f"note: {n}" for n in notes)]
    for s in steps:
        detail = ", ".join(f"{k}={v}" for k, v in s.items() if k not in ("step", "ok"))
        lines.append(f"[{'ok' if s['ok'] else 'FAIL'}] {s['step']}: {detail}")
    lines.append("self-check passed" if ok else "self-check FAILED")
    if ok:
        lines.append("")
        lines.append(NEXT_STEP.format(model=engine.model_id))
    emit(args, {"ok": ok, "model": engine.model_id, "steps": steps, "notes": notes}, "\n".join(lines))
    return 0 if ok else 1
