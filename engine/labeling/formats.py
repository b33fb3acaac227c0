"""Writing labeled turns as RTTM, SRT and JSON; reading RTTM and UEM files."""

from __future__ import annotations

import json
from pathlib import Path

from engine.labeling.errors import LabelFormatError
from engine.labeling.types import LabelResult, Turn

FORMATS = ("rttm", "srt", "json")


def _rttm_name(turn: Turn) -> str:
    """The RTTM speaker field: the person's name when named, else the label."""
    return turn.name or turn.speaker


def rttm_line(uri: str, start: float, duration: float, who: str) -> str:
    """One NIST RTTM SPEAKER line (spaces in the speaker field become underscores)."""
    return f"SPEAKER {uri} 1 {start:.3f} {duration:.3f} <NA> <NA> {who.replace(' ', '_')} <NA> <NA>\n"


def to_rttm(result: LabelResult) -> str:
    """NIST RTTM lines, one SPEAKER line per turn, file id = the result's uri."""
    uri = result.uri.replace(" ", "_")
    return "".join(rttm_line(uri, t.start, t.duration, _rttm_name(t)) for t in result.turns)


def srt_time(seconds: float) -> str:
    """Seconds as an SRT timestamp (HH:MM:SS,mmm)."""
    ms = round(seconds * 1000)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def to_srt(result: LabelResult) -> str:
    """SubRip subtitles: one cue per turn showing who speaks."""
    cues = [
        f"{i}\n{srt_time(t.start)} --> {srt_time(t.end)}\n{t.name or t.speaker}\n"
        for i, t in enumerate(result.turns, 1)
    ]
    return "\n".join(cues)


def to_json(result: LabelResult) -> str:
    """The result as indented JSON (segments with start, end, speaker, name, confidence)."""
    return json.dumps(result.as_dict(), indent=2, ensure_ascii=False) + "\n"


def format_of(path: Path) -> str:
    """Output format from a file extension; raises LabelFormatError for an unknown one."""
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise LabelFormatError(f"cannot tell the output format of '{path}': use .rttm, .srt or .json")
    return fmt


def render(result: LabelResult, fmt: str) -> str:
    """The result in ``fmt`` (rttm, srt or json)."""
    if fmt == "rttm":
        return to_rttm(result)
    if fmt == "srt":
        return to_srt(result)
    if fmt == "json":
        return to_json(result)
    raise LabelFormatError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def write(result: LabelResult, path: Path) -> None:
    """Write the result to ``path`` in the format its extension names."""
    Path(path).write_text(render(result, format_of(Path(path))), encoding="utf-8")


def read_rttm(path: Path) -> dict[str, list[tuple[float, float, str]]]:
    """SPEAKER lines of an RTTM file as ``{file_id: [(start, end, speaker), ...]}``."""
    out: dict[str, list[tuple[float, float, str]]] = {}
    for no, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split()
        if not fields or fields[0] != "SPEAKER":
            continue
        try:
            start, dur = float(fields[3]), float(fields[4])
            out.setdefault(fields[1], []).append((start, start + dur, fields[7]))
        except (IndexError, ValueError):
            raise LabelFormatError(f"{path}:{no}: not an RTTM SPEAKER line: {line!r}") from None
    return out


def read_uem(path: Path) -> dict[str, list[tuple[float, float]]]:
    """Scored regions of a UEM file as ``{file_id: [(start, end), ...]}``."""
    out: dict[str, list[tuple[float, float]]] = {}
    for no, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        try:
            out.setdefault(fields[0], []).append((float(fields[2]), float(fields[3])))
        except (IndexError, ValueError):
            raise LabelFormatError(f"{path}:{no}: not a UEM line: {line!r}") from None
    return out
