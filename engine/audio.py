"""Audio in: decode files, bytes, arrays and mappings to a 16 kHz mono float32 ``Waveform``."""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import soxr

from engine.errors import (
    AudioDecodeError,
    AudioError,
    AudioTooLongError,
    EmptyAudioError,
    InvalidSamplesError,
    VomidError,
)
from engine.waveform import SAMPLE_RATE, Waveform

log = logging.getLogger(__name__)

AudioSource = str | os.PathLike[str] | bytes | bytearray | memoryview | np.ndarray | Mapping[str, Any] | Waveform

SUPPORTED_FORMATS = "WAV, FLAC, MP3, OGG (Vorbis or Opus), M4A/AAC, or another audio format FFmpeg reads"
# File name endings taken for recordings when a folder is searched for them.
AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".opus", ".mp3", ".m4a", ".aac"})
_BLOCK_FRAMES = 1 << 16
_MAX_BAD_PACKETS = 200
# Integer sample types and the value of full scale for each.
_INT_FULL_SCALE = {np.dtype(np.int8): 128.0, np.dtype(np.int16): 32768.0, np.dtype(np.int32): 2147483648.0}


class _Sink:
    """Collects decoded native-rate blocks: checks them, mixes to mono and resamples to 16 kHz as they come."""

    def __init__(self, name: str, sample_rate: int, max_duration_s: float | None) -> None:
        if sample_rate <= 0:
            raise AudioDecodeError(f"{name}: the file declares no valid sample rate ({sample_rate})")
        self.name = name
        self.sample_rate = sample_rate
        self.max_duration_s = max_duration_s
        self.n_in = 0
        self.chunks: list[np.ndarray] = []
        self._stream = (
            None
            if sample_rate == SAMPLE_RATE
            else soxr.ResampleStream(sample_rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
        )

    def add(self, block: np.ndarray) -> None:
        """Add a (frames, channels) or (frames,) float block."""
        mono = block.mean(axis=1, dtype=np.float32) if block.ndim == 2 else block.astype(np.float32, copy=False)
        if not np.isfinite(mono).all():
            raise InvalidSamplesError(f"{self.name}: the audio holds NaN or infinite sample values")
        self.n_in += len(mono)
        _check_duration(self.name, self.n_in / self.sample_rate, self.max_duration_s)
        out = mono if self._stream is None else self._stream.resample_chunk(mono)
        if len(out):
            self.chunks.append(np.ascontiguousarray(out, dtype=np.float32))

    def finish(self) -> np.ndarray:
        """Flush the resampler and return every 16 kHz sample."""
        if self._stream is not None and self.n_in:
            tail = self._stream.resample_chunk(np.zeros(0, np.float32), last=True)
            if len(tail):
                self.chunks.append(tail.astype(np.float32, copy=False))
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.float32)


def load_audio(
    source: AudioSource, sample_rate: int | None = None, *, max_duration_s: float | None = None
) -> Waveform:
    """Load audio from any supported source as 16 kHz mono float32.

    Parameters
    ----------
    source:
        A path (``str`` / ``os.PathLike``), the bytes of an audio file, a numpy array shaped ``(n,)`` or
        ``(n, channels)`` (then ``sample_rate`` is required; int8/int16/int32 are scaled to [-1, 1]), a
        mapping ``{"waveform": array or torch tensor shaped (channels, n) or (n,), "sample_rate": int}``,
        or a ``Waveform``.
    sample_rate:
        Sample rate of an array source; ignored for files, bytes, mappings and waveforms.
    max_duration_s:
        Refuse inputs longer than this many seconds (checked from the header before decoding when the
        container declares its length). ``None`` means no limit.

    Returns
    -------
    Waveform
        Mono float32 samples at 16 kHz.

    Raises
    ------
    EmptyAudioError, AudioDecodeError, InvalidSamplesError, AudioTooLongError
        The input is empty, cannot be decoded, holds NaN/inf, or is too long.
    """
    if isinstance(source, Waveform):
        return _from_array(source.samples, source.sample_rate, "waveform", max_duration_s, channels_first=False)
    if isinstance(source, Mapping):
        return _from_mapping(source, max_duration_s)
    if isinstance(source, np.ndarray) or hasattr(source, "detach"):
        if sample_rate is None:
            raise TypeError("load_audio: an array source needs sample_rate")
        return _from_array(_as_numpy(source), sample_rate, "array", max_duration_s, channels_first=False)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if not data:
            raise EmptyAudioError("the audio bytes are empty")
        return Waveform(_decode(lambda: io.BytesIO(data), "the uploaded audio", max_duration_s))
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        name = f"'{path}'"
        if not path.is_file():
            raise AudioDecodeError(f"{name}: no such file")
        if path.stat().st_size == 0:
            raise EmptyAudioError(f"{name} is an empty file")
        return Waveform(_decode(lambda: open(path, "rb"), name, max_duration_s))
    raise TypeError(f"load_audio: unsupported source type {type(source).__name__}")


def _as_numpy(array: Any) -> np.ndarray:
    """A numpy view of a numpy array or torch tensor."""
    if hasattr(array, "detach"):
        return np.asarray(array.detach().cpu().numpy())
    return np.asarray(array)


def _from_mapping(source: Mapping[str, Any], max_duration_s: float | None) -> Waveform:
    """Load pyannote's ``{"waveform": (channels, n), "sample_rate": sr}`` mapping."""
    if "waveform" not in source or "sample_rate" not in source:
        raise TypeError("load_audio: a mapping source needs 'waveform' and 'sample_rate' keys")
    samples = _as_numpy(source["waveform"])
    return _from_array(samples, int(source["sample_rate"]), "waveform mapping", max_duration_s, channels_first=True)


def _from_array(
    samples: np.ndarray, sample_rate: int, name: str, max_duration_s: float | None, *, channels_first: bool
) -> Waveform:
    """Scale, check, mix down and resample an in-memory array."""
    if sample_rate <= 0:
        raise AudioError(f"{name}: invalid sample rate {sample_rate}")
    x = np.asarray(samples)
    if x.ndim == 2 and channels_first:
        x = x.T
    elif x.ndim == 2 and x.shape[0] < x.shape[1] and x.shape[0] <= 8:
        x = x.T  # clearly (channels, n): a handful of rows, many columns
    if x.ndim not in (1, 2):
        raise AudioError(f"{name}: expected shape (n,) or (n, channels), got {x.shape}")
    if x.size == 0:
        raise EmptyAudioError(f"{name} holds no samples")
    x = _to_float(x, name)
    _check_duration(name, x.shape[0] / sample_rate, max_duration_s)
    mono = x.mean(axis=1, dtype=np.float32) if x.ndim == 2 else x
    if not np.isfinite(mono).all():
        raise InvalidSamplesError(f"{name}: the audio holds NaN or infinite sample values")
    if sample_rate != SAMPLE_RATE:
        mono = soxr.resample(mono, sample_rate, SAMPLE_RATE, quality="HQ")
    return Waveform(np.ascontiguousarray(mono, dtype=np.float32))


def _to_float(x: np.ndarray, name: str) -> np.ndarray:
    """Float32 samples at full scale 1.0 from float, signed or 8-bit unsigned integer input."""
    if x.dtype.kind == "f":
        return x.astype(np.float32, copy=False)
    if x.dtype in _INT_FULL_SCALE:
        return (x.astype(np.float32) / np.float32(_INT_FULL_SCALE[x.dtype])).astype(np.float32)
    if x.dtype == np.uint8:
        return (x.astype(np.float32) - 128.0) / 128.0
    raise AudioError(f"{name}: unsupported sample type {x.dtype} (use float, int8, uint8, int16 or int32)")


def _check_duration(name: str, duration_s: float, max_duration_s: float | None) -> None:
    """Raise AudioTooLongError when the duration passes the limit."""
    if max_duration_s is not None and duration_s > max_duration_s + 1e-6:
        raise AudioTooLongError(
            f"{name} lasts at least {duration_s:.1f} s; the limit is {max_duration_s:.1f} s",
            details={"duration_s": round(duration_s, 3), "max_duration_s": max_duration_s},
        )


def _decode(opener: Any, name: str, max_duration_s: float | None) -> np.ndarray:
    """Decode with libsndfile, falling back to FFmpeg (PyAV) for other formats or damaged streams."""
    partial = np.zeros(0, np.float32)
    sf_problem = ""
    try:
        return _finish(_decode_soundfile(opener, name, max_duration_s), name)
    except (AudioTooLongError, InvalidSamplesError, EmptyAudioError):
        raise
    except _PartialDecode as exc:
        partial, sf_problem = exc.samples, exc.reason
    except Exception as exc:  # noqa: BLE001 - libsndfile rejects the container: try FFmpeg
        sf_problem = _reason(exc)
    try:
        samples = _decode_pyav(opener, name, max_duration_s)
    except (AudioTooLongError, InvalidSamplesError):
        raise
    except Exception as exc:  # noqa: BLE001 - any FFmpeg failure becomes one AudioDecodeError
        if len(partial):
            log.warning("%s is damaged after %.2f s (%s); using the part before", name, len(partial) / SAMPLE_RATE,
                        sf_problem)
            return partial
        raise AudioDecodeError(
            f"could not decode {name}: it is not a supported audio file or it is damaged "
            f"(libsndfile: {sf_problem}; FFmpeg: {_reason(exc)}). "
            f"Supported formats: {SUPPORTED_FORMATS}.",
        ) from None
    return samples if len(samples) >= len(partial) else partial


class _PartialDecode(Exception):
    """libsndfile failed in the middle of the stream; ``samples`` holds what it decoded before."""

    def __init__(self, samples: np.ndarray, reason: str) -> None:
        super().__init__(reason)
        self.samples = samples
        self.reason = reason


def _reason(exc: BaseException) -> str:
    """A short description of a library error for messages."""
    if isinstance(exc, VomidError):
        return exc.message
    text = str(exc).split(": ", 1)[-1] if "Error opening" in str(exc) else str(exc)
    return text.strip() or type(exc).__name__


def _finish(sink: _Sink, name: str) -> np.ndarray:
    """Flush the sink; an empty result means the file holds no audio."""
    samples = sink.finish()
    if len(samples) == 0:
        raise EmptyAudioError(f"{name} holds no audio samples")
    return samples


def _decode_soundfile(opener: Any, name: str, max_duration_s: float | None) -> _Sink:
    """Stream-decode with libsndfile (WAV, FLAC, OGG, MP3 ...)."""
    import soundfile as sf

    with opener() as fh, sf.SoundFile(fh) as f:
        if 0 < f.frames < 2**62:
            _check_duration(name, f.frames / f.samplerate, max_duration_s)
        sink = _Sink(name, f.samplerate, max_duration_s)
        try:
            for block in f.blocks(blocksize=_BLOCK_FRAMES, dtype="float32", always_2d=True):
                sink.add(block)
        except VomidError:
            raise
        except Exception as exc:  # noqa: BLE001 - a damaged stream: keep what came before
            raise _PartialDecode(sink.finish(), _reason(exc)) from None
        return sink


def _decode_pyav(opener: Any, name: str, max_duration_s: float | None) -> np.ndarray:
    """Stream-decode the first audio stream with FFmpeg, skipping damaged packets."""
    import av

    with opener() as fh, av.open(fh, mode="r", metadata_errors="ignore") as container:
        if not container.streams.audio:
            kinds = sorted({s.type for s in container.streams}) or ["nothing"]
            raise AudioDecodeError(f"{name} is a {container.format.name} file with {', '.join(kinds)} but no audio")
        stream = container.streams.audio[0]
        if stream.duration is not None and stream.time_base is not None:
            _check_duration(name, float(stream.duration * stream.time_base), max_duration_s)
        elif container.duration is not None:
            _check_duration(name, container.duration / 1e6, max_duration_s)
        sink: _Sink | None = None
        for frame in _pyav_frames(container, stream):
            if sink is None:
                sink = _Sink(name, frame.sample_rate, max_duration_s)
            sink.add(frame.to_ndarray().T)
        if sink is None:
            raise AudioDecodeError(f"{name}: no audio could be decoded from its {stream.codec_context.name} stream")
        return _finish(sink, name)


def _pyav_frames(container: Any, stream: Any) -> Iterator[Any]:
    """Decoded frames as planar float32 at their own rate and layout; damaged packets are skipped."""
    import av

    resampler: av.AudioResampler | None = None
    bad = 0
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.FFmpegError:
            bad += 1
            if bad > _MAX_BAD_PACKETS:
                break
            continue
        for frame in frames:
            if resampler is None:
                resampler = av.AudioResampler(format="fltp", layout=frame.layout, rate=frame.sample_rate)
            yield from resampler.resample(frame)
    if resampler is not None:
        yield from resampler.resample(None)
