"""Print mutmut's results per module: killed / survived / total and the score, then the surviving mutants.

Reads ``mutmut results --all true`` (lines ``    <module>.x<function>__mutmut_<n>: <status>``) on stdin.
Exits 1 when the score of all modules together is under the target (``--min``, 90 by default).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict

LINE = re.compile(r"^\s*(?P<name>(?P<module>[\w.]+?)\.x[ǁ_]\S*__mutmut_\d+): (?P<status>.+)$")
KILLED = {"killed", "timeout"}  # mutmut counts a mutant that hangs the tests as caught, and so do we


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--min", type=float, default=90.0, help="lowest acceptable score in percent")
    args = parser.parse_args()
    by_module: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    survivors: list[str] = []
    for line in sys.stdin:
        match = LINE.match(line.rstrip("\n"))
        if not match:
            continue
        status = match["status"].strip()
        by_module[match["module"]][status] += 1
        if status not in KILLED:
            survivors.append(f"{match['name']}: {status}")
    if not by_module:
        print("no mutant results: run `mutmut run` first", file=sys.stderr)
        return 1
    total_killed = total = 0
    print(f"{'module':<22} {'killed':>6} {'other':>6} {'total':>6} {'score':>7}")
    for module, counts in sorted(by_module.items()):
        killed = sum(n for s, n in counts.items() if s in KILLED)
        n = sum(counts.values())
        total_killed, total = total_killed + killed, total + n
        print(f"{module:<22} {killed:>6} {n - killed:>6} {n:>6} {100 * killed / n:>6.1f}%")
    score = 100 * total_killed / total
    print(f"{'all':<22} {total_killed:>6} {total - total_killed:>6} {total:>6} {score:>6.1f}%")
    print(f"\nnot killed ({len(survivors)}; `mutmut show NAME` prints the change):")
    print("\n".join(f"  {s}" for s in sorted(survivors)) or "  none")
    return 0 if score >= args.min else 1


if __name__ == "__main__":
    sys.exit(main())
