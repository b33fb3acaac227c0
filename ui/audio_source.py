"""Where live audio comes from: a microphone (sounddevice) or a file played at real time, into a ring buffer."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, QElapsedTimer, QObject, QTimer, Signal

SAMPLE_RATE = 16_000


class AudioSourceError(Exception):
    """The audio source cannot start; the message says what to do."""


class RingBuffer:
    """A fixed-size float32 ring written by one thread (the audio callback) and drained by another."""

    def __init__(self, seconds: float = 30.0, sample_rate: int = SAMPLE_RATE) -> None:
        self._buf = np.zeros(int(seconds * sample_rate), np.float32)
        self._lock = threading.Lock()
        self._write = 0
        self._read = 0

    def write(self, samples: np.ndarray) -> None:
        """Append samples; the oldest unread ones are dropped when the reader falls behind."""
        x = np.asarray(samples, np.float32).reshape(-1)[-len(self._buf):]
        with self._lock:
            n, size = len(x), len(self._buf)
            start = self._write % size
            first = min(n, size - start)
            self._buf[start:start + first] = x[:first]
            self._buf[: n - first] = x[first:]
            self._write += n
            self._read = max(self._read, self._write - size)

    def read(self) -> np.ndarray:
        """Everything written since the last read."""
        with self._lock:
            n, size = self._write - self._read, len(self._buf)
            idx = (self._read + np.arange(n)) % size
            self._read = self._write
            return self._buf[idx].copy()

    def clear(self) -> None:
        """Forget unread samples."""
        with self._lock:
            self._read = self._write


class AudioSource(QObject):
    """Base of the sources: ``start``/``stop``, a ring buffer to drain, and signals on the GUI thread."""

    data_ready = Signal()
    ended = Signal()
    description = "audio"

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ring = RingBuffer()
        self.active = False

    def start(self) -> None:
        """Begin capturing; raises AudioSourceError with a clear message when it cannot."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop capturing and release the device."""
        raise NotImplementedError

    def read(self) -> np.ndarray:
        """Samples captured since the last read (16 kHz mono float32)."""
        return self.ring.read()


class MicSource(AudioSource):
    """The default input device through sounddevice; its callback thread only writes the ring buffer."""

    description = "microphone"
    # Re-emitted from the PortAudio thread: Qt queues it to the GUI thread that owns this object.
    _from_callback = Signal()

    def __init__(self, device: int | str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.device = device
        self._stream = None
        self._from_callback.connect(self.data_ready)

    def start(self) -> None:
        try:
            import sounddevice as sd
        except OSError as exc:
            raise AudioSourceError(QCoreApplication.translate(
                "AudioSource", "The audio library PortAudio is missing. Install it (Debian/Ubuntu: apt-get install "
                "libportaudio2) or start with --audio-source FILE.")) from exc
        self.ring.clear()
        try:
            self._stream = sd.InputStream(samplerate=SAMPLE_RATE, channels=1, dtype="float32", blocksize=320,
                                          device=self.device, callback=self._callback)
            self._stream.start()
        except Exception as exc:
            self._close()
            raise AudioSourceError(QCoreApplication.translate(
                "AudioSource", "No usable microphone (%1). Connect a microphone or close the program using it, "
                "then retry.").replace("%1", str(exc))) from exc
        self.active = True

    def _callback(self, indata: np.ndarray, frames: int, time_info: object, status: object) -> None:
        self.ring.write(indata[:, 0])
        self._from_callback.emit()

    def _close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.stop()
            finally:
                stream.close()

    def stop(self) -> None:
        self._close()
        self.active = False


class FileSource(AudioSource):
    """Plays WAV/FLAC files at real time into the ring buffer; each ``start`` plays the next file."""

    description = "file"
    TICK_MS = 20

    def __init__(self, paths: Sequence[Path | str], *, speed: float = 1.0, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.paths = [Path(p) for p in paths]
        self.speed = speed
        self._next = 0
        self._samples = np.zeros(0, np.float32)
        self._pos = 0
        self._clock = QElapsedTimer()
        self._timer = QTimer(self)
        self._timer.setInterval(self.TICK_MS)
        self._timer.timeout.connect(self._tick)

    @classmethod
    def from_path(cls, path: Path | str, **kwargs: object) -> FileSource:
        """One file, or every audio file in a folder (sorted)."""
        p = Path(path)
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.suffix.lower() in {".wav", ".flac", ".ogg", ".mp3"})
            return cls(files, **kwargs)  # type: ignore[arg-type]
        if not p.is_file():
            raise AudioSourceError(f"audio source {p} does not exist")
        return cls([p], **kwargs)  # type: ignore[arg-type]

    def queue(self, paths: Sequence[Path | str]) -> None:
        """Play these files next, in order."""
        self.paths = [Path(p) for p in paths]
        self._next = 0

    def start(self) -> None:
        from app.kiosk.media import MediaError, decode_file

        if not self.paths:
            raise AudioSourceError(QCoreApplication.translate(
                "AudioSource", "No audio file to play: start with --audio-source FILE."))
        path = self.paths[self._next % len(self.paths)]
        self._next += 1
        try:
            self._samples = decode_file(path)
        except MediaError as exc:
            raise AudioSourceError(QCoreApplication.translate("AudioSource", "Cannot play %1")
                                   .replace("%1", str(exc))) from exc
        self.ring.clear()
        self._pos = 0
        self._clock.start()
        self._timer.start()
        self.active = True

    def _tick(self) -> None:
        due = min(len(self._samples), int(self._clock.elapsed() * self.speed * SAMPLE_RATE / 1000))
        if due > self._pos:
            self.ring.write(self._samples[self._pos:due])
            self._pos = due
            self.data_ready.emit()
        if self._pos >= len(self._samples):
            self._timer.stop()
            self.active = False
            self.ended.emit()

    def stop(self) -> None:
        self._timer.stop()
        self.active = False
