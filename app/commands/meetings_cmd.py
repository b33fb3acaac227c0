"""`vomid make-meetings`: synthetic meetings from recordings of single speakers, to check labeling beyond real excerpts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.commands.common import add_json_option, emit
from app.commands.progress import ProgressBar

DESCRIPTION = """\
Build meetings from folders of recordings of one person each (one sub-folder per speaker, any depth):
each person gets a level and a synthetic room, turns follow one another with short gaps or start
before the last one ends, and some long turns carry a short interjection by someone else. Writes
<uri>.wav, <uri>.rttm (reference turns, each stretch of speech marked by its own energy) and
<uri>.uem per meeting, ready for `vomid label` and `vomid eval-labels`. The same seed gives the same
meetings. These meetings are easier than real ones (each voice keeps its own microphone): read their
figures beside real recordings, not instead of them.

  vomid make-meetings ../shared/data/verification/zh-cv ../shared/data/verification/en --out syn
  vomid label syn/*.wav --no-names --out-dir syn-hyp && vomid eval-labels syn syn-hyp
"""


def _counts(text: str) -> list[int]:
    """``2,3,4,5`` or ``2-5`` as a list of people per meeting."""
    try:
        if "-" in text:
            lo, hi = (int(v) for v in text.split("-", 1))
            values = list(range(lo, hi + 1))
        else:
            values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a list of counts such as 2,3,4,5 or 2-5") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"'{text}': counts are 1 or more people")
    return values


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``make-meetings``."""
    p = sub.add_parser("make-meetings", help="build synthetic meetings with reference turns from single-speaker recordings",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sources", nargs="+", type=Path, help="folders holding one sub-folder of recordings per speaker")
    p.add_argument("--out", type=Path, required=True, help="folder to write <uri>.wav/.rttm/.uem into")
    p.add_argument("--speakers", type=_counts, default=[2, 3, 4, 5], metavar="COUNTS",
                   help="people per meeting: 2,3,4,5 or 2-5 (default 2-5)")
    p.add_argument("--per-count", type=int, default=6, help="meetings for each count (default 6)")
    p.add_argument("--seconds", type=float, default=60.0, help="length of each meeting (default 60)")
    p.add_argument("--seed", type=int, default=7, help="random seed; the same seed gives the same meetings (default 7)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_json_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the meetings and list them."""
    from engine.labeling.synthetic import MeetingPlan, make_meetings

    if args.per_count < 1 or not 5.0 <= args.seconds <= 3600.0:
        print("error: --per-count must be 1 or more and --seconds between 5 and 3600", file=sys.stderr)
        return 2
    with ProgressBar(disabled=args.no_progress) as bar:
        made = make_meetings(args.sources, args.out, args.speakers, args.per_count, args.seed,
                             MeetingPlan(seconds=args.seconds), progress=lambda done, total: bar("meetings", done, total))
    rows = [{"uri": m.uri, "speakers": m.speakers, "seconds": round(len(m.audio) / 16000, 2),
             "speech_seconds": round(sum(e - s for s, e, _ in m.turns), 2)} for m in made]
    text = "\n".join(f"{r['uri']:<10} {r['speakers']} people  {r['seconds']:6.1f} s" for r in rows)
    emit(args, {"out": str(args.out), "seed": args.seed, "meetings": rows}, f"{text}\nwrote {len(rows)} meetings to {args.out}")
    return 0
