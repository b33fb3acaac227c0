"""Trial lists for evaluation: lines ``label enrol test``, ``enrol`` possibly a comma-separated list."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.errors import TrialListError


@dataclass(frozen=True)
class Trial:
    """One verification trial: 1 = same speaker; enrolment takes and test as paths under the root."""

    label: int
    enrol: tuple[str, ...]
    test: str
    line_no: int


def parse_trials(text: str, *, source: str = "<trials>") -> list[Trial]:
    """Parse the text of a trial list.

    Parameters
    ----------
    text : the whole list; blank lines and lines starting with ``#`` are skipped
    source : name used in error messages (usually the file path)

    Returns
    -------
    list[Trial]
        Trials in file order.

    Raises
    ------
    TrialListError
        A line has the wrong number of fields, a label other than 0/1 or an empty file name;
        the message names the source and the line number.
    """
    trials: list[Trial] = []
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        where = f"{source} line {no}"
        if len(fields) != 3:
            raise TrialListError(
                f"{where}: expected 'label enrol test' (3 fields), got {len(fields)}: {line!r}",
                details={"source": source, "line": no},
            )
        label, enrol, test = fields
        if label not in ("0", "1"):
            raise TrialListError(
                f"{where}: label must be 0 or 1, got {label!r}", details={"source": source, "line": no}
            )
        takes = tuple(enrol.split(","))
        if any(not t for t in takes):
            raise TrialListError(
                f"{where}: empty file name in enrolment list {enrol!r}", details={"source": source, "line": no}
            )
        trials.append(Trial(int(label), takes, test, no))
    if not trials:
        raise TrialListError(f"{source}: no trials found", details={"source": source})
    return trials


def load_trials(path: str | Path, root: str | Path, *, check_files: bool = True) -> list[Trial]:
    """Read a trial list and check that every file it names exists under ``root``.

    Parameters
    ----------
    path : the trial list file
    root : folder the audio paths in the list are relative to
    check_files : verify that each referenced file exists

    Returns
    -------
    list[Trial]
        Trials in file order.

    Raises
    ------
    TrialListError
        The list cannot be read, is malformed, or names a missing file (message names the line).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TrialListError(f"cannot read trial list {p}: {exc}", details={"source": str(p)}) from exc
    trials = parse_trials(text, source=str(p))
    if check_files:
        check_trial_files(trials, root, source=str(p))
    return trials


def check_trial_files(trials: list[Trial], root: str | Path, *, source: str = "<trials>") -> None:
    """Raise ``TrialListError`` naming the first line whose file is missing under ``root``.

    Parameters
    ----------
    trials : parsed trials
    root : folder the paths are relative to
    source : name used in error messages
    """
    base = Path(root)
    if not base.is_dir():
        raise TrialListError(f"audio root {base} is not a folder", details={"root": str(base)})
    seen: set[str] = set()
    for t in trials:
        for name in (*t.enrol, t.test):
            if name in seen:
                continue
            if not (base / name).is_file():
                raise TrialListError(
                    f"{source} line {t.line_no}: file not found: {name} (looked under {base})",
                    details={"source": source, "line": t.line_no, "file": name},
                )
            seen.add(name)


def unique_files(trials: list[Trial]) -> list[str]:
    """Every file named by the trials, once each, in order of first appearance.

    Parameters
    ----------
    trials : parsed trials

    Returns
    -------
    list[str]
        Relative paths, enrolment takes and tests together.
    """
    out: dict[str, None] = {}
    for t in trials:
        for name in (*t.enrol, t.test):
            out.setdefault(name, None)
    return list(out)
