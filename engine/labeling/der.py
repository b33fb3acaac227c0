"""Diarization error rate with pyannote.metrics: per file and pooled, overlap scored and skipped."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.labeling.errors import LabelingError
from engine.labeling.formats import read_rttm, read_uem

COLLAR_S = 0.25
PARTS = ("false alarm", "missed detection", "confusion", "total")


def _metrics() -> Any:
    """pyannote.metrics' DER class, or an error that says what to install."""
    try:
        from pyannote.metrics.diarization import DiarizationErrorRate
    except ImportError as exc:
        raise LabelingError(f"DER needs pyannote.metrics ({exc}): pip install pyannote.metrics==4.2.0") from None
    return DiarizationErrorRate


def _annotation(uri: str, turns: list[tuple[float, float, str]]) -> Any:
    """Turns as a pyannote Annotation."""
    from pyannote.core import Annotation, Segment

    ann = Annotation(uri=uri)
    for i, (a, b, who) in enumerate(turns):
        if b > a:
            ann[Segment(a, b), str(i)] = who
    return ann


def _timeline(uri: str, regions: list[tuple[float, float]]) -> Any:
    """Regions as a pyannote Timeline."""
    from pyannote.core import Segment, Timeline

    return Timeline([Segment(a, b) for a, b in regions], uri=uri)


@dataclass
class FileScore:
    """DER and its parts (seconds) for one file under one overlap policy."""

    der: float
    parts: dict[str, float]


@dataclass
class DerReport:
    """Per-file and pooled DER with overlap scored (``der``) and skipped (``der_skip_overlap``)."""

    der: float
    der_skip_overlap: float
    pooled: dict[str, dict[str, float]]
    files: dict[str, dict[str, Any]]
    collar: float = COLLAR_S
    notes: list[str] = field(default_factory=list)
    counts: bool = True  # whether the hypothesis found its own speakers (not so for the identity floor)

    @property
    def counts_right(self) -> int:
        """Files whose hypothesis has as many speakers as the reference."""
        return sum(f["ref_speakers"] == f["hyp_speakers"] for f in self.files.values())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (fractions, seconds)."""
        return {"der": self.der, "der_skip_overlap": self.der_skip_overlap, "collar": self.collar,
                "pooled": self.pooled, "files": self.files, "notes": self.notes,
                **({"counts_right": {"right": self.counts_right, "files": len(self.files)}} if self.counts else {})}


def _parts(detail: dict[str, float]) -> dict[str, float]:
    """pyannote's detailed components, rounded, with JSON-friendly keys."""
    return {k.replace(" ", "_"): round(float(detail[k]), 4) for k in PARTS}


def score_pairs(
    pairs: dict[str, tuple[list[tuple[float, float, str]], list[tuple[float, float, str]], list[tuple[float, float]] | None]],
    collar: float = COLLAR_S,
) -> DerReport:
    """DER of ``{uri: (reference turns, hypothesis turns, uem regions or None)}``.

    Parameters
    ----------
    pairs:
        Reference and hypothesis turns ``(start, end, speaker)`` and the scored regions of each file
        (None: pyannote's default, the extent of reference and hypothesis).
    collar:
        pyannote.metrics' collar: total width in seconds of the unscored zone centred on each
        reference boundary (0.25 leaves 0.125 s on each side).

    Returns
    -------
    DerReport
        Pooled fractions and per-file figures for both overlap policies.
    """
    cls = _metrics()
    scored, skipped = cls(collar=collar, skip_overlap=False), cls(collar=collar, skip_overlap=True)
    files: dict[str, dict[str, Any]] = {}
    for uri, (ref_turns, hyp_turns, uem) in sorted(pairs.items()):
        ref, hyp = _annotation(uri, ref_turns), _annotation(uri, hyp_turns)
        kw = {"uem": _timeline(uri, uem)} if uem else {}
        with warnings.catch_warnings():
            # Without a UEM pyannote warns that it scores the extent of both; the report notes it instead.
            warnings.filterwarnings("ignore", message=".*'uem' was approximated.*")
            a = scored(ref, hyp, detailed=True, **kw)
            b = skipped(ref, hyp, detailed=True, **kw)
        files[uri] = {
            "der": round(float(a["diarization error rate"]), 4),
            "der_skip_overlap": round(float(b["diarization error rate"]), 4),
            "parts": _parts(a), "parts_skip_overlap": _parts(b),
            "ref_speakers": len({t[2] for t in ref_turns}), "hyp_speakers": len({t[2] for t in hyp_turns}),
            "uem": bool(uem),
        }
    pooled = {"overlap_scored": _parts(scored.accumulated_), "overlap_skipped": _parts(skipped.accumulated_)}
    return DerReport(round(abs(scored), 4), round(abs(skipped), 4), pooled, files, collar)


def score_dirs(ref_dir: Path, hyp_dir: Path, collar: float = COLLAR_S) -> DerReport:
    """DER of every ``<uri>.rttm`` in ``ref_dir`` against ``hyp_dir/<uri>.rttm``, inside ``<uri>.uem`` when present.

    Parameters
    ----------
    ref_dir:
        Reference RTTM files (and optional UEM files with the same stem).
    hyp_dir:
        Hypothesis RTTM files named like the references; a missing one scores as empty output.
    collar:
        Collar in seconds, pyannote.metrics' convention (total width around each boundary).

    Returns
    -------
    DerReport
        Per-file and pooled figures; ``notes`` lists files scored without UEM or without hypothesis.
    """
    pairs: dict[str, Any] = {}
    notes: list[str] = []
    for uri, (ref, uem) in references(ref_dir).items():
        hyp_path = Path(hyp_dir) / f"{uri}.rttm"
        if hyp_path.is_file():
            hyp = [t for turns in read_rttm(hyp_path).values() for t in turns]
        else:
            hyp = []
            notes.append(f"{uri}: no hypothesis file, scored as empty output")
        if uem is None:
            notes.append(f"{uri}: no UEM, scored over the extent of reference and hypothesis")
        pairs[uri] = (ref, hyp, uem)
    report = score_pairs(pairs, collar)
    report.notes.extend(notes)
    return report


def references(ref_dir: Path) -> dict[str, tuple[list[tuple[float, float, str]], list[tuple[float, float]] | None]]:
    """``{uri: (reference turns, UEM regions or None)}`` of every ``<uri>.rttm`` in ``ref_dir``.

    Raises
    ------
    LabelingError
        No ``.rttm`` file in the folder.
    """
    refs = sorted(Path(ref_dir).glob("*.rttm"))
    if not refs:
        raise LabelingError(f"no reference .rttm files in {ref_dir}")
    out: dict[str, tuple[list[tuple[float, float, str]], list[tuple[float, float]] | None]] = {}
    for ref_path in refs:
        uem_path = ref_path.with_suffix(".uem")
        uem = [r for regions in read_uem(uem_path).values() for r in regions] if uem_path.is_file() else None
        out[ref_path.stem] = ([t for turns in read_rttm(ref_path).values() for t in turns], uem)
    return out
