"""Audio for labeling as a stream of 16 kHz mono blocks, so long recordings never sit in memory whole."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import soxr

from engine.audio import load_audio
from engine.errors import AudioDecodeError, EmptyAudioError
from engine.waveform import SAMPLE_RATE

BLOCK_SECONDS = 30.0


def blocks_from_path(path: Path, block_s: float = BLOCK_SECONDS) -> Iterator[np.ndarray]:
    """Decode a file block by block (libsndfile), mixed to mono and resampled to 16 kHz.

    Formats libsndfile cannot read (M4A/AAC, Opus) fall back to :func:`engine.audio.load_audio`,
    which decodes the whole file at once.
    """
    import soundfile as sf

    if not path.is_file():
        raise AudioDecodeError(f"'{path}': no such file")
    if path.stat().st_size == 0:
        raise EmptyAudioError(f"'{path}' is an empty file")
    try:
        handle = sf.SoundFile(str(path))
    except (sf.SoundFileError, RuntimeError):  # not a format libsndfile reads: decode it whole
        yield from _split(load_audio(path).samples, block_s)
        return
    with handle as f:
        stream = None if f.samplerate == SAMPLE_RATE else soxr.ResampleStream(
            f.samplerate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
        got = 0
        for block in f.blocks(blocksize=int(block_s * f.samplerate), dtype="float32", always_2d=True):
            mono = block.mean(axis=1, dtype=np.float32)
            got += len(mono)
            yield mono if stream is None else stream.resample_chunk(mono)
        if stream is not None and got:
            yield stream.resample_chunk(np.zeros(0, np.float32), last=True)
        if got == 0:
            raise EmptyAudioError(f"'{path}' holds no audio samples")


def _split(samples: np.ndarray, block_s: float) -> Iterator[np.ndarray]:
    """Blocks of an in-memory signal."""
    step = int(block_s * SAMPLE_RATE)
    for i in range(0, len(samples), step):
        yield samples[i : i + step]


def audio_blocks(source: Any, sample_rate: int | None = None, block_s: float = BLOCK_SECONDS) -> Iterable[np.ndarray]:
    """Blocks of any input the engine accepts: a path streams, anything else goes through ``load_audio``.

    Parameters
    ----------
    source:
        A path, bytes, a numpy array (with ``sample_rate``), a ``{"waveform", "sample_rate"}`` mapping,
        a :class:`~engine.waveform.Waveform`, or an iterable of 16 kHz mono float32 blocks (used as is).
    sample_rate:
        Sample rate of a raw array.
    block_s:
        Seconds per block.

    Returns
    -------
    Iterable[np.ndarray]
        16 kHz mono float32 blocks in order.
    """
    if isinstance(source, (str, os.PathLike)):
        return blocks_from_path(Path(source), block_s)
    if isinstance(source, Iterator) or (isinstance(source, Iterable) and isinstance(source, (list, tuple))):
        return source
    return _split(load_audio(source, sample_rate).samples, block_s)


def uri_of(source: Any) -> str:
    """The file id for RTTM output: a path's stem, else ``audio``."""
    return Path(source).stem if isinstance(source, (str, os.PathLike)) else "audio"
