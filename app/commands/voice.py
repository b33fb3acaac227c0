"""`vomid enrol | verify | identify | list`: the engine's daily work on the local store."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tqdm import tqdm

from app.commands.common import add_common, cli_actor, emit, settings_from


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register enrol, verify, identify and list."""
    p = sub.add_parser("enrol", help="enrol a speaker from three or more recordings",
                       description="Enrol SPEAKER_ID from at least three takes. Each take must pass the quality "
                       "gate (enough speech, not clipped, not too quiet or noisy, one speaker).")
    p.add_argument("speaker_id", help="stable id of the person (badge number, login)")
    p.add_argument("takes", nargs="+", type=Path, help="audio files, one per take")
    p.add_argument("--name", help="display name")
    add_common(p)
    p.set_defaults(func=run_enrol)

    p = sub.add_parser("verify", help="check that a recording is the claimed speaker (1:1)",
                       description="Score AUDIO against SPEAKER_ID's voiceprint; exit 0 when accepted, 1 when not.")
    p.add_argument("speaker_id")
    p.add_argument("audio", type=Path)
    add_common(p)
    p.set_defaults(func=run_verify)

    p = sub.add_parser("identify", help="find who is speaking among enrolled speakers (1:N)",
                       description="Rank enrolled speakers by score against AUDIO; lists those above the "
                       "identify threshold. Exit 0 when someone matched, 1 when nobody did.")
    p.add_argument("audio", type=Path)
    p.add_argument("--top", type=int, default=5, help="how many candidates to show (default 5)")
    add_common(p)
    p.set_defaults(func=run_identify)

    p = sub.add_parser("list", help="list enrolled speakers",
                       description="List speakers in the local store with their voiceprints' models.")
    add_common(p)
    p.set_defaults(func=run_list)


@contextmanager
def _node(args: argparse.Namespace) -> Iterator[Any]:
    """The local store under the node's use cases (no HTTP server), with the model loaded: what HTTP and the
    kiosk decide with, the same thresholds, lockout and one audit row per decision, filed as ``cli:USER``."""
    from app.node_runtime import NodeRuntime
    from app.wiring import build_engine, open_store

    settings = settings_from(args)
    with open_store(settings, model_id=settings.model) as store:
        runtime = NodeRuntime(settings, store, serve=False)
        try:
            yield runtime.start(build_engine(settings, gallery=store)).node
        finally:
            runtime.stop()


def run_enrol(args: argparse.Namespace) -> int:
    """Enrol one speaker; a progress bar follows speech seconds collected."""
    from peer import service

    with _node(args) as node, tqdm(total=len(args.takes), desc="takes", unit="take", file=sys.stderr,
                                   leave=False) as bar:
        def progress(step: str, done: int, total: int) -> None:
            bar.update(1)
            bar.set_postfix_str(f"{done / 1000:.1f}/{total / 1000:.0f} s speech")

        vp, _status = service.register(node, args.speaker_id, args.name, list(args.takes), actor=cli_actor(),
                                       progress=progress)
    emit(args, {"speaker_id": vp.speaker_id, "model": vp.model_id, "takes": len(vp.takes),
                "speech_seconds": round(vp.speech_seconds, 2)},
         f"enrolled {vp.speaker_id} with {vp.model_id}: {len(vp.takes)} takes, {vp.speech_seconds:.1f} s of speech")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    """Verify and print score, decision and threshold (exit 1: rejected; a disabled speaker is an error)."""
    from peer import service

    with _node(args) as node:
        r, _locked = service.verify(node, args.speaker_id, args.audio, actor=cli_actor())
    decision = "ACCEPTED" if r.accepted else "REJECTED"
    scale = "as-norm" if r.normalised else "cosine"
    emit(args, {"speaker_id": r.speaker_id, "accepted": r.accepted, "score": r.score, "threshold": r.threshold,
                "raw_score": r.raw_score, "normalised": r.normalised, "model": r.model_id},
         f"{decision}: {r.speaker_id} score {r.score:.3f} ({scale}), threshold {r.threshold:.3f}, model {r.model_id}")
    return 0 if r.accepted else 1


def run_identify(args: argparse.Namespace) -> int:
    """Identify and print ranked candidates."""
    from peer import service

    with _node(args) as node:
        r = service.identify(node, args.audio, args.top, actor=cli_actor())
    rows = [{"speaker_id": c.speaker_id, "name": c.name, "score": c.score} for c in r.candidates]
    text = "\n".join(f"{i}. {c.speaker_id} ({c.name or '-'}) score {c.score:.3f}" for i, c in enumerate(r.candidates, 1))
    emit(args, {"candidates": rows, "threshold": r.threshold, "model": r.model_id},
         text or f"nobody matched (threshold {r.threshold:.3f}, model {r.model_id})")
    return 0 if r.candidates else 1


def run_list(args: argparse.Namespace) -> int:
    """List speakers in the store."""
    from app.wiring import open_store

    settings = settings_from(args)
    with open_store(settings) as store:
        rows = [(store.speaker(r.speaker_id) or r).as_dict() for r in store.list_speakers()]
    text = "\n".join(f"{r['speaker_id']:<20} {r['name'] or '-':<24} {r['status']:<9} {','.join(r['models']) or '-'}"
                     for r in rows)
    emit(args, {"speakers": rows}, text or "no speakers enrolled")
    return 0
