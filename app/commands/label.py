"""`vomid label` (who spoke when, named from enrolled voiceprints) and `vomid eval-labels` (DER)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from app.commands.common import add_json_option, emit, settings_from
from app.commands.progress import ProgressBar

DEFAULT_MODEL = "campplus-zh-en"  # engine.models.registry.DEFAULT_MODEL, without importing torch at start-up


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``label`` and ``eval-labels``."""
    p = sub.add_parser(
        "label", help="label who spoke when in a meeting recording",
        description="Find the speakers of a recording and their turns, two at once where they talk over each "
        "other (pyannote segmentation-3.0 for speech and overlap, the embedding model for who; both from "
        "`vomid models install`). Speakers take the names of enrolled people whose voiceprints (of the same "
        "model) match at the identify threshold; the others are 'Speaker N'. Output format follows --out's "
        "extension: .rttm, .json or .srt (default: a table on stdout).")
    p.add_argument("audio", nargs="+", type=Path, help="recording(s): WAV, FLAC, MP3, OGG, M4A ...")
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"embedding model (default {DEFAULT_MODEL}; names need voiceprints of this model)")
    p.add_argument("--speakers", type=int, help="exact number of speakers, when known")
    p.add_argument("--min-speakers", type=int, help="fewest speakers to consider (default 1)")
    p.add_argument("--max-speakers", type=int, help="most speakers to consider (default 8)")
    p.add_argument("--out", type=Path, help="output file: x.rttm, x.json or x.srt (one input)")
    p.add_argument("--out-dir", type=Path, help="write <stem>.<format> per input into this folder")
    p.add_argument("--format", choices=["rttm", "json", "srt"], default="rttm", help="format for --out-dir")
    p.add_argument("--no-names", action="store_true", help="do not open the voiceprint store; label 'Speaker N' only")
    p.add_argument("--live", action="store_true",
                   help="label incrementally and print each revision: a file plays as a live source; the "
                   "argument 'mic' captures the default microphone until Ctrl-C")
    p.add_argument("--data-dir", type=Path, help="where the store and keys live (default: per-user data dir)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run_label)

    p = sub.add_parser(
        "eval-labels", help="diarization error rate of RTTM output against references",
        description="DER with its parts (false alarm, missed, confusion) per file and pooled, with overlapped "
        "speech scored and skipped, collar 0.25 s (pyannote.metrics convention: 0.125 s each side of every "
        "reference boundary), inside <uri>.uem when REF_DIR has one. Files pair by name: REF_DIR/<uri>.rttm "
        "with HYP_DIR/<uri>.rttm. Computed with pyannote.metrics. With --floor instead of HYP_DIR: the lowest "
        "DER any speaker assignment could reach on segmentation-3.0's speech and overlap (every frame gets the "
        "reference speakers active there, as many as the segmentation counts), from the audio beside each "
        "reference; the gap to the pipeline's DER is what better clustering could still win.")
    p.add_argument("ref_dir", type=Path, help="reference <uri>.rttm files (with <uri>.uem, and <uri>.wav for --floor)")
    p.add_argument("hyp_dir", type=Path, nargs="?", help="hypothesis <uri>.rttm files (not with --floor)")
    p.add_argument("--collar", type=float, default=0.25, help="collar in seconds, total width (default 0.25)")
    p.add_argument("--floor", action="store_true",
                   help="score the identity floor of the segmentation instead of HYP_DIR (runs the models)")
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"model whose cache holds segmentation-3.0 for --floor (default {DEFAULT_MODEL}; not loaded)")
    p.add_argument("--data-dir", type=Path, help="where settings live (default: per-user data dir)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_json_option(p)
    p.set_defaults(func=run_eval)


def _settings(args: argparse.Namespace) -> Any:
    """The settings for --model and --data-dir (the store, the models' cache, identify's threshold)."""
    return settings_from(argparse.Namespace(model=args.model, data_dir=args.data_dir, model_dir=None))


def _labeler(args: argparse.Namespace) -> tuple[Any, Any]:
    """A Labeler for the chosen model, over the store's voiceprints unless --no-names; and the store."""
    from engine.labeling import Labeler, LabelingConfig
    from engine.labeling.pipeline import load_default_segmentation
    from engine.models import load_model

    settings = _settings(args)
    engine_config = settings.engine_config(model_id=args.model)
    model = load_model(engine_config.model)
    segmentation = load_default_segmentation(engine_config.model)
    store = None
    if not args.no_names:
        from app.wiring import open_store

        store = open_store(settings, model_id=args.model)
    config = LabelingConfig(name_threshold=engine_config.threshold)  # identify's threshold when one is set
    return Labeler(model, segmentation, config, gallery=store), store


def _table(result: Any) -> str:
    """Human-readable speakers and turns."""
    lines = [f"{result.uri}: {len(result.speakers)} speaker(s), {len(result.turns)} turn(s), model {result.model_id}"]
    for s in result.speakers:
        who = f" = {s.name} (score {s.score:.3f})" if s.name else ""
        lines.append(f"  {s.label}{who}: {s.speech_seconds:.1f} s")
    for t in result.turns:
        lines.append(f"  {t.start:8.2f} {t.end:8.2f}  {t.name or t.speaker}  ({t.confidence:.2f})")
    lines.extend(f"  note: {n}" for n in result.notes)
    return "\n".join(lines)


class _SecondsLabelled:
    """The pipeline's progress calls for one recording as seconds of it labelled, out of its duration."""

    def __init__(self, bar: ProgressBar, path: Path, labeler: Any) -> None:
        self._bar, self._step = bar, f"label {path.name}"
        self._total = _duration(path)
        self._window_s = labeler.segmentation.window_samples / 16_000
        self._step_s = labeler.config.step_s
        self._done = 0

    def __call__(self, step: str, completed: int, _total: int) -> None:
        """``audio_seconds`` read and segmented, or ``windows`` done (each ends step_s after the last)."""
        seconds = completed if step == "audio_seconds" else int(self._window_s + (completed - 1) * self._step_s)
        self._done = max(self._done, min(seconds, self._total or seconds))
        self._bar(self._step, self._done, self._total)


def _duration(path: Path) -> int:
    """Whole seconds of a recording from its header, 0 when the header does not say (the bar counts up)."""
    import soundfile as sf

    try:
        return max(1, round(sf.info(str(path)).duration))
    except (sf.SoundFileError, RuntimeError, OSError):
        return 0


def run_label(args: argparse.Namespace) -> int:
    """Label each input and write or print the result."""
    from engine.labeling.formats import format_of, render

    if args.out is not None and len(args.audio) > 1:
        print("error: --out takes one input; use --out-dir for several", file=sys.stderr)
        return 2
    fmt = format_of(args.out) if args.out is not None else args.format
    labeler, store = _labeler(args)
    try:
        for path in args.audio:
            started = time.perf_counter()
            if args.live:
                result = _run_live(labeler, path, args)
            else:
                with ProgressBar(disabled=args.no_progress, units={"label": "s"}) as bar:
                    result = labeler.label(path, num_speakers=args.speakers, min_speakers=args.min_speakers,
                                           max_speakers=args.max_speakers, progress=_SecondsLabelled(bar, path, labeler))
            print(f"{path.name}: {len(result.speakers)} speaker(s), {len(result.turns)} turn(s), "
                  f"{result.duration:.1f} s of audio in {time.perf_counter() - started:.1f} s", file=sys.stderr)
            if args.out is not None:
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(render(result, fmt), encoding="utf-8")
            elif args.out_dir is not None:
                args.out_dir.mkdir(parents=True, exist_ok=True)
                (args.out_dir / f"{path.stem}.{fmt}").write_text(render(result, fmt), encoding="utf-8")
            if args.out is None and args.out_dir is None or args.live:
                print(_table(result))
    finally:
        if store is not None:
            store.close()
    return 0


def _run_live(labeler: Any, path: Path, args: argparse.Namespace) -> Any:
    """Feed a file (or the microphone) through live mode, printing each revision; return the final result."""
    from engine.labeling.live import LiveLabeler, file_chunks, microphone_chunks

    mic = str(path) == "mic"
    live = LiveLabeler(labeler, uri="mic" if mic else path.stem, num_speakers=args.speakers,
                       min_speakers=args.min_speakers, max_speakers=args.max_speakers)
    try:
        for chunk in microphone_chunks() if mic else file_chunks(path):
            update = live.feed(chunk)
            if update is not None:
                spoken = ", ".join(f"{t.name or t.speaker} {t.start:.1f}-{t.end:.1f}" for t in update.turns[-3:])
                print(f"[{update.duration:7.1f} s] {len(update.speakers)} speaker(s); latest: {spoken}", flush=True)
    except KeyboardInterrupt:
        if not mic:
            raise
    return live.finish()


def run_eval(args: argparse.Namespace) -> int:
    """Score HYP_DIR against REF_DIR and print the table."""
    from engine.labeling.der import score_dirs

    if args.floor == (args.hyp_dir is not None):
        print("error: give HYP_DIR or --floor (one of them)", file=sys.stderr)
        return 2
    if args.floor:
        report = _floor(args)
    else:
        report = score_dirs(args.ref_dir, args.hyp_dir, collar=args.collar)
    emit(args, report.as_dict(), format_report(report.as_dict()))
    return 0


def _floor(args: argparse.Namespace) -> Any:
    """The identity floor of REF_DIR (the models' front end over the audio beside each reference)."""
    from engine.labeling.floor import score_floor
    from engine.labeling.pipeline import load_default_segmentation

    # the floor reads the segmentation's speech and count only: no embedding model is loaded
    segmentation = load_default_segmentation(_settings(args).engine_config(model_id=args.model).model)
    files = sorted(args.ref_dir.glob("*.rttm"))
    with ProgressBar(disabled=args.no_progress) as bar:
        done = iter(range(len(files)))
        report = score_floor(args.ref_dir, segmentation, collar=args.collar,
                             progress=lambda _uri: bar("floor", next(done), len(files)))
        bar("floor", len(files), len(files))
    report.notes.insert(0, "identity floor: every frame where segmentation-3.0 hears speech has the reference "
                           "speakers active there, at most as many as it counts; no confusion by construction; "
                           "speech heard where the reference has none is one '(extra speaker)', not counted in hyp")
    return report


def format_report(data: dict[str, Any]) -> str:
    """The DER table: per file and pooled, overlap scored and skipped, with the parts in percent."""
    head = (f"{'file':<12} {'DER':>6} {'FA':>6} {'miss':>6} {'conf':>6} | {'DER-ov':>6} {'FA':>6} {'miss':>6} "
            f"{'conf':>6} | ref hyp  (percent of scored speech; -ov: overlap skipped; collar {data['collar']} s)")
    rows = [head]

    def row(name: str, parts: dict[str, float], skip: dict[str, float], extra: str) -> str:
        """One table row from pooled or per-file parts."""
        def pct(p: dict[str, float], key: str) -> float:
            """A part as percent of the scored speech."""
            return 100.0 * p[key] / p["total"] if p["total"] else 0.0

        cells = [pct(parts, "false_alarm"), pct(parts, "missed_detection"), pct(parts, "confusion")]
        cells2 = [pct(skip, "false_alarm"), pct(skip, "missed_detection"), pct(skip, "confusion")]
        return (f"{name:<12} {sum(cells):6.1f} {cells[0]:6.1f} {cells[1]:6.1f} {cells[2]:6.1f} | {sum(cells2):6.1f} "
                f"{cells2[0]:6.1f} {cells2[1]:6.1f} {cells2[2]:6.1f} | {extra}")

    for uri, f in data["files"].items():
        rows.append(row(uri, f["parts"], f["parts_skip_overlap"], f"{f['ref_speakers']:>3} {f['hyp_speakers']:>3}"))
    counts = data.get("counts_right")
    rows.append(row("POOLED", data["pooled"]["overlap_scored"], data["pooled"]["overlap_skipped"],
                    f"{counts['right']} of {counts['files']} counts right" if counts else ""))
    rows.extend(f"note: {n}" for n in data.get("notes", []))
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """Run ``label`` or ``eval-labels`` on their own (``python -m app.commands.label ...``)."""
    parser = argparse.ArgumentParser(prog="vomid")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
