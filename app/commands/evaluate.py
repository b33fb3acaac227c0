"""`vomid eval`: EER, minDCF and FAR/FRR of a trial list, with an optional DET plot and JSON."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from app.commands.common import add_json_option, emit, settings_from
from app.commands.progress import ProgressBar

DESCRIPTION = """\
Score a trial list with the configured model and print EER, minDCF (p_target 0.01), FAR and FRR
at the configured threshold, and how many trials were rejected (by code): by the quality gate, or
because a file could not be read as audio (empty, corrupt, not audio; such files are named).

Trial lines are `label enrol test`: label 1 = same speaker, enrol one file or a comma-separated
list of takes, paths relative to --root. Each file is embedded once.

The threshold is, first found: --threshold; the entry for this model and score scale in
--threshold-file; the configured one (VOMID_THRESHOLD / VOMID_SNORM_THRESHOLD, else the model's
default). --calibrate-far F chooses a threshold at false-accept rate F on THIS list and writes it
to --threshold-file: report FAR/FRR measured on a different list than the one calibrated on.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the eval command."""
    p = sub.add_parser("eval", help="measure EER / minDCF / FAR / FRR on a trial list",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("trials", type=Path, help="trial list file")
    p.add_argument("--root", type=Path, required=True, help="folder the trial paths are relative to")
    p.add_argument("--model", help="model id: campplus (default), eres2netv2, ge2e (offline)")
    p.add_argument("--model-dir", type=Path, help="local directory or checkpoint file with the model weights")
    p.add_argument("--cohort", type=Path, help="folder of impostor recordings: scores are AS-normalised against it")
    p.add_argument("--threshold", type=float, help="measure FAR/FRR at this threshold")
    p.add_argument("--threshold-file", type=Path, help="per-model threshold JSON to read (or write with --calibrate-far)")
    p.add_argument("--calibrate-far", type=float, metavar="F",
                   help="choose the threshold giving false-accept rate F on this list, write it to --threshold-file")
    add_json_option(p)
    p.add_argument("--det", type=Path, metavar="OUT.png", help="write the DET curve as a PNG")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate the list and print the figures."""
    from app.wiring import build_engine
    from engine.calibration import calibrate, threshold_for, write_threshold
    from engine.evaluation import evaluate
    from engine.trials import load_trials

    if args.calibrate_far is not None and args.threshold_file is None:
        print("error: --calibrate-far needs --threshold-file to write to", file=sys.stderr)
        return 2
    trials = load_trials(args.trials, args.root)
    settings = settings_from(args)
    with ProgressBar(disabled=args.no_progress, units={"score": "trial"}) as bar:
        engine = build_engine(settings, model_id=args.model, cohort_dir=args.cohort, progress=bar)
        normalised = args.cohort is not None and engine.config.use_snorm
        threshold = args.threshold
        source = "--threshold"
        if threshold is None and args.threshold_file is not None and args.calibrate_far is None:
            threshold = threshold_for(args.threshold_file, engine.model_id, normalised=normalised)
            source = f"{args.threshold_file}"
        if threshold is None:
            threshold = engine.threshold_for(normalised)
            source = "configured"
        result = evaluate(engine, trials, args.root, threshold=threshold, progress=bar)
    data = result.as_dict()
    data.update(trials=str(args.trials), normalised=normalised, threshold_source=source,
                cohort=str(args.cohort) if args.cohort else None)
    if args.calibrate_far is not None:
        cal = calibrate(result.scores, result.labels, model_id=engine.model_id, target_far=args.calibrate_far,
                        source=str(args.trials), normalised=normalised)
        write_threshold(args.threshold_file, cal)
        data["calibration"] = {"threshold": cal.threshold, "target_far": cal.target_far, "far": cal.far,
                               "frr": cal.frr, "file": str(args.threshold_file)}
    if args.det is not None:
        from engine.det_plot import plot_det

        label = f"{engine.model_id}{' + AS-norm' if normalised else ''}: {args.trials.name}"
        plot_det({label: (result.scores, result.labels)}, args.det, title=f"DET - {args.trials.name}",
                 threshold=threshold)
        data["det"] = str(args.det)
    emit(args, data, format_report(data))
    return 0


def format_report(data: dict[str, Any]) -> str:
    """The human summary of an evaluation."""
    lines = [
        f"model      {data['model']}{' (AS-norm against ' + str(data['cohort']) + ')' if data.get('normalised') else ''}",
        f"trials     {data['n_trials']} ({data['n_target']} target, {data['n_trials'] - data['n_target']} non-target)",
        f"EER        {100 * data['eer']:.2f} %",
        f"minDCF     {data['min_dcf']:.4f} (p_target {data['p_target']})",
        (f"threshold  {data['threshold']:.4f} ({data['threshold_source']}): "
         f"FAR {100 * data['far']:.2f} %, FRR {100 * data['frr']:.2f} %"),
    ]
    rejected = ", ".join(f"{code} {n}" for code, n in data["rejected_by_code"].items()) or "none"
    lines.append(f"rejected   {data['n_rejected']} trials ({rejected})")
    unreadable = data.get("unreadable_files") or {}
    if unreadable:
        lines.append(f"unreadable {len(unreadable)} file{'s' if len(unreadable) != 1 else ''} (rejected like quality-gate failures):")
        lines.extend(f"  {name}: {reason}" for name, reason in unreadable.items())
    if "calibration" in data:
        c = data["calibration"]
        lines.append(f"calibrated threshold {c['threshold']:.4f} at target FAR {100 * c['target_far']:.2f} % "
                     f"(FAR {100 * c['far']:.2f} %, FRR {100 * c['frr']:.2f} % on this list) -> {c['file']}")
    if "det" in data:
        lines.append(f"DET curve  {data['det']}")
    return "\n".join(lines)

