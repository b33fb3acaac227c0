"""The installed bundle's ``--self-test``: model, audio, VAD, an encrypted store round trip, and Qt.

It needs no recordings and no network: voices come from ``engine.synth``. Synthetic vowels are not
speech to the VAD, so the quality gate is bypassed (``purpose=None``) as in ``vomid selfcheck``; the
round trip goes through a temporary encrypted store (write, close, reopen, read) and scores a fresh
take of each voice against the stored voiceprints. Exit 0 when every figure is sane.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

MIN_MARGIN = 0.02  # same-voice score must beat the other voice's by at least this (cosine)
# The app's own .qm files: beside the sources, or in the bundle's data folder.
APP_TRANSLATIONS = (
    Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parents[1])) / "resources" / "translations"
)
VOICES = {"alice": (110.0, 1.0), "bob": (205.0, 1.17)}


def _step(steps: list[dict[str, Any]], name: str, ok: bool, t0: float, **figures: Any) -> None:
    steps.append({"step": name, "ok": bool(ok), "seconds": round(time.perf_counter() - t0, 3), **figures})


def _load_engine(settings: Any, model_id: str | None, notes: list[str]) -> Any:
    from app.wiring import build_engine
    from engine.errors import ModelUnavailableError

    try:
        return build_engine(settings, model_id=model_id)
    except ModelUnavailableError as exc:
        if (model_id or settings.model) == "ge2e":
            raise
        notes.append(
            f"configured model unavailable ({exc.message.split(';')[0]}); using the offline model ge2e"
        )
        return build_engine(settings, model_id="ge2e")


def _takes(seconds: float = 4.0) -> dict[str, list[Any]]:
    from engine.synth import SynthVoice, synthesize

    return {
        name: [synthesize(SynthVoice(p, f), seconds, seed=s) for s in range(4)]
        for name, (p, f) in VOICES.items()
    }


def _check_decode(takes: dict[str, list[Any]], steps: list[dict[str, Any]]) -> None:
    import soundfile as sf

    from engine.audio import load_audio

    t0 = time.perf_counter()
    buf = io.BytesIO()
    original = takes["alice"][0]
    sf.write(buf, original.samples, original.sample_rate, format="FLAC")
    decoded = load_audio(buf.getvalue())
    _step(
        steps,
        "decode",
        abs(decoded.duration - original.duration) < 0.01,
        t0,
        flac_seconds=round(decoded.duration, 2),
    )


def _round_trip(
    engine: Any, takes: dict[str, list[Any]], data_dir: Path, steps: list[dict[str, Any]]
) -> None:
    from engine.gallery import Voiceprint
    from engine.scoring import mean_of_takes
    from engine.store import KeyFileProvider, VoiceprintStore

    t0 = time.perf_counter()
    vectors = {n: np.stack([engine.embed(w, purpose=None).vector for w in ws]) for n, ws in takes.items()}
    dims_ok = all(v.shape[1] == engine.model.dim and np.isfinite(v).all() for v in vectors.values())
    _step(steps, "embed", dims_ok, t0, embeddings=sum(len(v) for v in vectors.values()), dim=engine.model.dim)

    t0 = time.perf_counter()
    provider = KeyFileProvider(data_dir / "master.key")
    means = {n: mean_of_takes(v[:3]) for n, v in vectors.items()}
    with VoiceprintStore.open(None, provider, data_dir=data_dir) as store:
        for name, mean in means.items():
            store.put(
                Voiceprint(
                    speaker_id=name,
                    model_id=engine.model_id,
                    mean=mean,
                    takes=vectors[name][:3],
                    speech_seconds=12.0,
                    name=name.title(),
                ),
                actor="selftest",
            )
    with VoiceprintStore.open(None, KeyFileProvider(data_dir / "master.key"), data_dir=data_dir) as store:
        stored = {n: store.get(n, engine.model_id) for n in means}
        ids, matrix = store.matrix(engine.model_id)
        audit_ok = store.verify_audit_chain().ok
    same_vectors = all(v is not None and np.allclose(v.mean, means[n], atol=1e-6) for n, v in stored.items())
    _step(
        steps,
        "store",
        same_vectors and sorted(ids) == sorted(means) and audit_ok,
        t0,
        speakers=len(ids),
        encrypted_file=str((data_dir / "store.db").name),
        audit_chain_ok=audit_ok,
    )

    t0 = time.perf_counter()
    enrolled = {n: v.mean for n, v in stored.items() if v is not None}
    same = engine.score(enrolled["alice"], vectors["alice"][3])
    other = engine.score(enrolled["alice"], vectors["bob"][3])
    ranked = [ids[i] for i in np.argsort(-(matrix @ vectors["bob"][3]))]
    sane = all(math.isfinite(x) and -1.0001 <= x <= 1.0001 for x in (same, other))
    threshold = engine.threshold_for(False)
    _step(
        steps,
        "verify",
        sane and same - other >= MIN_MARGIN and ranked[0] == "bob",
        t0,
        same_voice=round(same, 3),
        other_voice=round(other, 3),
        threshold=round(threshold, 3),
        identify_top="bob" if ranked[0] == "bob" else ranked[0],
    )


def _check_qt(steps: list[dict[str, Any]], notes: list[str]) -> None:
    """Qt loads its platform plugin, paints, and finds its translations (GUI bundles only)."""
    try:
        from PySide6.QtCore import QLibraryInfo, QTranslator
        from PySide6.QtGui import QColor, QImage, QPainter
        from PySide6.QtWidgets import QApplication
    except ImportError:
        notes.append("Qt is not in this build (CLI only): Qt check skipped")
        return
    t0 = time.perf_counter()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication.instance() or QApplication([sys.argv[0]])
    image = QImage(64, 32, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.drawText(4, 20, "VoMID")
    painter.end()
    translations = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    zh_ok = QTranslator().load("qtbase_zh_CN", translations)
    ours_ok = QTranslator().load("vomid_zh_CN", str(APP_TRANSLATIONS))
    _step(
        steps,
        "qt",
        app.platformName() != "" and not image.isNull() and ours_ok,
        t0,
        platform=app.platformName(),
        qt_translations_zh_CN=zh_ok,
        app_translations_zh_CN=ours_ok,
    )
    if not zh_ok:
        notes.append(f"Qt's own zh_CN translation (qtbase_zh_CN.qm) not found under {translations}")


def run_self_test(*, model_id: str | None = None, qt: bool = True) -> dict[str, Any]:
    """Run every step in a temporary data directory; returns the report (``ok`` and ``steps``)."""
    from app.settings import Settings

    steps: list[dict[str, Any]] = []
    notes: list[str] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vomid-selftest-") as tmp:
        data_dir = Path(tmp)
        settings = Settings.model_validate(
            {
                "data_dir": data_dir,
                "allow_download": False,
                "log_to_file": False,
                **({"model": model_id} if model_id else {}),
            }
        )
        t0 = time.perf_counter()
        engine = _load_engine(settings, model_id, notes)
        _step(steps, "model", True, t0, model=engine.model_id, dim=engine.model.dim)
        takes = _takes()
        _check_decode(takes, steps)
        t0 = time.perf_counter()
        segments = engine.vad.segments(takes["alice"][0])
        _step(steps, "vad", isinstance(segments, list), t0, segments=len(segments))
        _round_trip(engine, takes, data_dir, steps)
    if qt:
        _check_qt(steps, notes)
    ok = all(s["ok"] for s in steps)
    return {
        "ok": ok,
        "model": engine.model_id,
        "steps": steps,
        "notes": notes,
        "total_seconds": round(time.perf_counter() - started, 2),
        "frozen": bool(getattr(sys, "frozen", False)),
    }


def format_report(report: dict[str, Any]) -> str:
    """Human-readable lines of a self-test report."""
    lines = [f"note: {n}" for n in report["notes"]]
    for s in report["steps"]:
        detail = ", ".join(f"{k}={v}" for k, v in s.items() if k not in ("step", "ok"))
        lines.append(f"[{'ok' if s['ok'] else 'FAIL'}] {s['step']}: {detail}")
    lines.append(
        f"self-test {'passed' if report['ok'] else 'FAILED'} in {report['total_seconds']} s "
        f"(model {report['model']})"
    )
    return "\n".join(lines)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``vomid self-test`` (the bundle also answers ``--self-test``)."""
    p = sub.add_parser(
        "self-test",
        help="check an installed bundle: model, store round trip, Qt",
        description="Load the model, open a temporary encrypted store, enrol and verify "
        "synthesized voices, check Qt; exit 0 when every figure is sane.",
    )
    _add_options(p)
    p.set_defaults(func=run)


def _add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="model id (default: the configured one, else the offline ge2e)")
    p.add_argument("--no-qt", action="store_true", help="skip the Qt check")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    """Run the self-test and print its report."""
    report = run_self_test(model_id=args.model, qt=not args.no_qt)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0 if report["ok"] else 1


def main(argv: list[str] | None = None) -> int:
    """``vomid --self-test [--model ID] [--no-qt] [--json]``."""
    parser = argparse.ArgumentParser(prog="vomid --self-test")
    _add_options(parser)
    try:
        return run(parser.parse_args(argv))
    except Exception as exc:  # noqa: BLE001 (the self-test reports any failure as a failed run)
        import traceback

        traceback.print_exc()
        print(f"self-test FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
