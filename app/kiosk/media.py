"""Files in and out for the kiosk: decode audio for the file source, export labelled meetings."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from app.kiosk.types import Segment
from engine.audio import load_audio
from engine.errors import AudioError


class MediaError(Exception):
    """An audio file cannot be used; the message says why."""


def decode_file(path: str | Path) -> np.ndarray:
    """16 kHz mono float32 samples of an audio file (WAV, FLAC, MP3, M4A, OGG)."""
    try:
        return load_audio(Path(path)).samples
    except AudioError as exc:
        raise MediaError(f"{Path(path).name}: {exc.message}") from exc
    except FileNotFoundError as exc:
        raise MediaError(f"{path} does not exist") from exc


def _who(seg: Segment) -> str:
    return seg.name or seg.label


def to_rttm(segments: Sequence[Segment], uri: str) -> str:
    """NIST RTTM: one SPEAKER line per segment."""
    from engine.labeling.formats import rttm_line  # here, not at the top: engine.labeling loads torch

    return "".join(rttm_line(uri, s.start, s.end - s.start, _who(s)) for s in segments)


def to_srt(segments: Sequence[Segment]) -> str:
    """SubRip subtitles naming the speaker of each segment."""
    from engine.labeling.formats import srt_time  # here, not at the top: engine.labeling loads torch

    blocks = [f"{i}\n{srt_time(s.start)} --> {srt_time(s.end)}\n{s.name or s.label}\n"
              for i, s in enumerate(segments, 1)]
    return "\n".join(blocks)


def to_json(segments: Sequence[Segment], uri: str) -> str:
    """JSON with the file id and its segments."""
    rows = [{"start": round(s.start, 3), "end": round(s.end, 3), "label": s.label, "name": s.name,
             "confidence": round(float(s.confidence), 3)} for s in segments]
    return json.dumps({"uri": uri, "segments": rows}, indent=2, ensure_ascii=False)


def export(segments: Sequence[Segment], path: str | Path) -> Path:
    """Write segments as RTTM, SRT or JSON, chosen by the file's suffix."""
    p = Path(path)
    uri = p.stem
    writers = {".rttm": lambda: to_rttm(segments, uri), ".srt": lambda: to_srt(segments),
               ".json": lambda: to_json(segments, uri)}
    if p.suffix.lower() not in writers:
        raise MediaError(f"unknown export format {p.suffix!r}: use .rttm, .srt or .json")
    p.write_text(writers[p.suffix.lower()](), encoding="utf-8")
    return p
