"""Meetings made from recordings of single speakers, with their reference turns.

The six meeting excerpts are the only real meetings here, and every labeling setting was looked at on them.
A meeting built from people recorded alone (other voices, other languages, other microphones) tells whether
the speaker count and clustering hold beyond those six files: each person gets a level (distance to the
microphone) and a room (a synthetic reverberation tail), turns follow one another with short gaps or start
before the last one ends, and some long turns carry a short interjection by someone else. The reference
marks each placed stretch of speech by its own energy (before the room), so pauses inside a recording are
not counted as speech.

These meetings are easier than real ones in one way (each voice keeps its own microphone) and harder in
another (read sentences cut at random points); read figures on them beside the real excerpts, not instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.signal import fftconvolve

from engine.audio import AUDIO_SUFFIXES, load_audio
from engine.errors import VomidError
from engine.labeling.formats import rttm_line

SAMPLE_RATE = 16000
_FRAME = 320  # 20 ms energy frames
log = logging.getLogger(__name__)

Turn = tuple[float, float, str]


class NotEnoughSpeakersError(VomidError):
    """The source folders hold fewer speakers than a meeting asks for."""


@dataclass(frozen=True)
class MeetingPlan:
    """How a synthetic meeting is put together."""

    seconds: float = 60.0
    overlap_share: float = 0.25
    interjection_share: float = 0.15
    level_db: tuple[float, float] = (-36.0, -24.0)
    rt60_s: tuple[float, float] = (0.2, 0.5)
    turn_s: tuple[float, float] = (1.0, 7.0)


@dataclass
class Meeting:
    """One synthetic meeting: 16 kHz mono samples and reference turns (start, end, speaker)."""

    uri: str
    audio: np.ndarray
    turns: list[Turn] = field(default_factory=list)

    @property
    def speakers(self) -> int:
        """How many people speak in the reference."""
        return len({who for _, _, who in self.turns})


def speakers_in(roots: Iterable[Path]) -> dict[str, list[Path]]:
    """Every folder under ``roots`` (or a root itself) that holds audio files directly is one speaker.

    Raises
    ------
    NotEnoughSpeakersError
        Fewer than two such folders.
    """
    found: dict[str, list[Path]] = {}
    for root in roots:
        if not root.is_dir():
            raise NotEnoughSpeakersError(f"'{root}' is not a folder: give folders with one sub-folder of recordings per speaker")
        for folder in sorted({root, *(p for p in root.rglob("*") if p.is_dir())}):
            files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
            if files:
                found[f"{folder.name}" if folder.name not in found else f"{folder.parent.name}-{folder.name}"] = files
    if len(found) < 2:
        raise NotEnoughSpeakersError(
            f"found {len(found)} speaker folder(s) with audio under {', '.join(map(str, roots))}; a meeting needs at "
            "least two folders, one per person, each holding that person's recordings")
    return found


def speech_frames(x: np.ndarray, floor_db: float = 30.0, above_noise_db: float = 10.0) -> np.ndarray:
    """Which 20 ms frames of one person's recording are speech.

    A frame is speech when it is within ``floor_db`` of the loudest frame and ``above_noise_db`` above the
    recording's noise floor (its quietest tenth), so a noisy phone recording is not all speech.
    """
    n = len(x) // _FRAME
    if n == 0:
        return np.zeros(0, bool)
    energy = 10 * np.log10(np.mean(x[: n * _FRAME].reshape(n, _FRAME) ** 2, axis=1) + 1e-12)
    return energy > max(energy.max() - floor_db, np.percentile(energy, 10) + above_noise_db)


def speech_runs(frames: np.ndarray, bridge_s: float = 0.3, shortest_s: float = 0.1) -> list[tuple[int, int]]:
    """Sample ranges of the speech ``frames``: pauses under ``bridge_s`` bridged, runs under ``shortest_s`` dropped."""
    runs: list[list[int]] = []
    for i in np.flatnonzero(frames).tolist():
        if runs and i - runs[-1][1] <= bridge_s * SAMPLE_RATE / _FRAME:
            runs[-1][1] = i + 1
        else:
            runs.append([i, i + 1])
    return [(a * _FRAME, b * _FRAME) for a, b in runs if (b - a) * _FRAME >= shortest_s * SAMPLE_RATE]


class _Voices:
    """Decoded, trimmed and level-normalised recordings of each speaker, loaded on first use."""

    def __init__(self, speakers: dict[str, list[Path]]) -> None:
        self.speakers = speakers
        self._cache: dict[Path, tuple[np.ndarray, np.ndarray] | None] = {}

    def clip(self, who: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """One of ``who``'s recordings trimmed to its speech, at unit RMS, and its speech frames (empty if none decodes)."""
        files = self.speakers[who]
        for i in rng.permutation(len(files)):
            found = self._load(files[int(i)])
            if found is not None:
                return found
        return np.zeros(0, np.float32), np.zeros(0, bool)

    def _load(self, path: Path) -> tuple[np.ndarray, np.ndarray] | None:
        if path not in self._cache:
            self._cache[path] = None
            try:
                x = load_audio(path).samples
            except VomidError as exc:
                log.warning("skipping %s: %s", path.name, exc)
                return None
            frames = speech_frames(x)
            on = np.flatnonzero(frames)
            if len(on):
                x, frames = x[on[0] * _FRAME : (on[-1] + 1) * _FRAME], frames[on[0] : on[-1] + 1]
                self._cache[path] = ((x / np.sqrt(np.mean(x**2))).astype(np.float32), frames)
        return self._cache[path]


def _room(rng: np.random.Generator, plan: MeetingPlan) -> np.ndarray:
    """A synthetic room response: the direct path and an exponentially decaying noise tail."""
    t = np.arange(int(0.4 * SAMPLE_RATE)) / SAMPLE_RATE
    h = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rng.uniform(*plan.rt60_s)) * 0.3
    h[0] = 1.0
    return (h / np.sqrt(np.sum(h**2))).astype(np.float32)


class _Mixer:
    """Places stretches of speech on a growing timeline and records the reference turns."""

    def __init__(self, seconds: float) -> None:
        self.audio = np.zeros(int((seconds + 10) * SAMPLE_RATE), np.float32)
        self.turns: list[Turn] = []

    def place(self, dry: np.ndarray, frames: np.ndarray, start_s: float, room: np.ndarray, level_db: float,
              who: str) -> float:
        """Add ``dry`` (speech ``frames``) at ``start_s`` through ``room`` at ``level_db``; returns its end in seconds."""
        wet = fftconvolve(dry, room)[: len(dry)] * 10 ** (level_db / 20)
        i = int(start_s * SAMPLE_RATE)
        self.audio[i : i + len(wet)] += wet[: max(0, len(self.audio) - i)]
        self.turns.extend((start_s + a / SAMPLE_RATE, start_s + b / SAMPLE_RATE, who) for a, b in speech_runs(frames))
        return start_s + len(dry) / SAMPLE_RATE


def _stretch(clip: np.ndarray, frames: np.ndarray, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A random stretch of ``size`` 20 ms frames of a clip: its samples and its speech frames."""
    start = int(rng.integers(0, max(1, len(frames) - size)))
    return clip[start * _FRAME : (start + size) * _FRAME], frames[start : start + size]


def make_meeting(speakers: dict[str, list[Path]], n: int, rng: np.random.Generator, plan: MeetingPlan = MeetingPlan(),
                 uri: str = "meeting", voices: _Voices | None = None) -> Meeting:
    """A meeting of ``n`` people drawn from ``speakers``, everyone heard at least once.

    Raises
    ------
    NotEnoughSpeakersError
        ``speakers`` has fewer than ``n`` people.
    """
    if n > len(speakers):
        raise NotEnoughSpeakersError(f"a meeting of {n} needs {n} speakers; the folders hold {len(speakers)}")
    voices = voices or _Voices(speakers)
    names = sorted(speakers)
    people = [names[int(i)] for i in rng.choice(len(names), n, replace=False)]
    rooms = [_room(rng, plan) for _ in people]
    levels = rng.uniform(*plan.level_db, n)
    talk = rng.dirichlet(np.full(n, 1.5)) * 0.7 + 0.3 / n  # some talk much more than others
    mix = _Mixer(plan.seconds)
    heard: set[int] = set()
    t, last, short_draws = 0.5, -1, 0
    while t < plan.seconds - 1.0:
        weights = talk.copy()
        if last >= 0 and n > 1:
            weights[last] = 0.0
        unheard = [i for i in range(n) if i not in heard]
        if unheard and t > 0.6 * plan.seconds:
            weights = np.isin(np.arange(n), unheard).astype(float)
        who = int(rng.choice(n, p=weights / weights.sum()))
        clip, frames = voices.clip(people[who], rng)
        length = min(len(clip) / SAMPLE_RATE, rng.uniform(*plan.turn_s), plan.seconds - t)
        if not len(clip):  # none of this person's recordings decodes
            talk[who] = 0.0
            heard.add(who)
            if not talk.any():
                raise NotEnoughSpeakersError(f"no recording of {', '.join(people)} could be decoded")
            continue
        if length < 0.8:  # a clip too short for a turn: draw again (the loop keeps at least 1 s to fill)
            short_draws += 1
            if short_draws > 1000:
                raise NotEnoughSpeakersError(f"the recordings of {', '.join(people)} are too short for turns of 0.8 s")
            continue
        end = mix.place(*_stretch(clip, frames, int(length * SAMPLE_RATE) // _FRAME, rng), t, rooms[who],
                        levels[who] + rng.uniform(-2, 2), people[who])
        heard.add(who)
        if n > 1 and length > 2.5 and rng.random() < plan.interjection_share:
            other = int(rng.choice([i for i in range(n) if i != who]))
            short, short_frames = voices.clip(people[other], rng)
            size = int(min(len(short) / SAMPLE_RATE, rng.uniform(0.5, 1.2)) * SAMPLE_RATE) // _FRAME
            if size > 0:
                mix.place(*_stretch(short, short_frames, size, rng),
                          t + rng.uniform(0.5, length - size * _FRAME / SAMPLE_RATE - 0.2), rooms[other], levels[other],
                          people[other])
                heard.add(other)
        t = end + (rng.uniform(-1.2, -0.3) if rng.random() < plan.overlap_share else rng.uniform(0.1, 0.8))
        last = who
    end_s = max((e for _, e, _ in mix.turns), default=0.0) + 0.5
    audio = mix.audio[: int(end_s * SAMPLE_RATE)]
    audio = audio + (rng.standard_normal(len(audio)) * 10 ** (-62 / 20)).astype(np.float32)
    return Meeting(uri, audio.astype(np.float32), sorted(mix.turns))


def write_meeting(meeting: Meeting, out: Path) -> None:
    """``<uri>.wav`` (PCM16), ``<uri>.rttm`` and ``<uri>.uem`` (the whole file) in ``out``."""
    import soundfile as sf

    out.mkdir(parents=True, exist_ok=True)
    peak = float(np.max(np.abs(meeting.audio))) if len(meeting.audio) else 0.0
    sf.write(out / f"{meeting.uri}.wav", meeting.audio / max(1.0, peak / 0.99), SAMPLE_RATE, subtype="PCM_16")
    (out / f"{meeting.uri}.rttm").write_text(
        "".join(rttm_line(meeting.uri, a, b - a, who) for a, b, who in meeting.turns))
    (out / f"{meeting.uri}.uem").write_text(f"{meeting.uri} 1 0.000 {len(meeting.audio) / SAMPLE_RATE:.3f}\n")


def make_meetings(roots: Iterable[Path], out: Path, counts: Iterable[int] = (2, 3, 4, 5), per_count: int = 6,
                  seed: int = 7, plan: MeetingPlan = MeetingPlan(),
                  progress: Callable[[int, int], None] | None = None) -> list[Meeting]:
    """Write ``per_count`` meetings for each number of people in ``counts`` into ``out`` (deterministic per seed).

    Raises
    ------
    NotEnoughSpeakersError
        Fewer speaker folders than the largest count.
    ValueError
        A count below 1 or ``per_count`` below 1.
    """
    counts = list(counts)
    if not counts or min(counts) < 1 or per_count < 1:
        raise ValueError("counts must be 1 or more people and per_count at least 1")
    speakers = speakers_in(list(roots))
    if max(counts) > len(speakers):
        raise NotEnoughSpeakersError(f"a meeting of {max(counts)} needs {max(counts)} speakers; the folders hold "
                                     f"{len(speakers)}: give more speaker folders or smaller counts")
    rng = np.random.default_rng(seed)
    voices = _Voices(speakers)
    made = []
    total = len(counts) * per_count
    for n in counts:
        for i in range(per_count):
            meeting = make_meeting(speakers, n, rng, plan, f"syn{n}_{i:02d}", voices)
            write_meeting(meeting, out)
            made.append(meeting)
            if progress:
                progress(len(made), total)
    return made
