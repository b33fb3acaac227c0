"""The identity floor: the lowest DER any speaker assignment can reach on the segmentation's speech and overlap.

The pipeline decides *where* people speak and *how many at most* from segmentation-3.0 alone (its speech
and its overlap count): every frame with speech gets one speaker, a second where the count says two.
Clustering and reconstruction only decide *who*. Giving every speech frame the reference speakers active
there, at most as many as the segmentation counts (and one wrong speaker where the reference has
nobody), removes every confusion error and leaves the misses and false alarms that no clustering can
undo. The gap between this floor and the pipeline's DER is what better speaker
assignment could still win; the floor itself moves only with the segmentation.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from engine.audio import AUDIO_SUFFIXES
from engine.labeling.config import LabelingConfig
from engine.labeling.der import COLLAR_S, DerReport, references, score_pairs
from engine.labeling.errors import LabelingError
from engine.labeling.reconstruct import runs
from engine.labeling.source import audio_blocks
from engine.labeling.windows import Segmenter, WindowFrontEnd

Turns = list[tuple[float, float, str]]
EXTRA = "(extra speaker)"


def floor_turns(segmentation: Segmenter, config: LabelingConfig, audio: Any, reference: Turns,
                sample_rate: int | None = None) -> Turns:
    """Hypothesis turns of the identity floor for one recording.

    Parameters
    ----------
    segmentation, config:
        The labeler's segmentation model and settings: the front end runs its segmentation windows
        (speech and speaker count per frame, which no embedding affects) and embeds nothing.
    audio:
        What :meth:`Labeler.label` accepts (a path, samples with ``sample_rate``, ...).
    reference:
        The reference turns ``(start, end, speaker)``.

    Returns
    -------
    list
        Turns ``(start, end, speaker)``: in each frame the segmentation hears speech, the reference
        speakers active there, at most its ``count`` of them (by name; any choice scores the same), or
        :data:`EXTRA` where nobody speaks in the reference.
    """
    front = WindowFrontEnd(segmentation, None, config)
    for block in audio_blocks(audio, sample_rate):
        front.feed(block)
    front.finish()
    count, grid = front.count(), front.grid
    names = sorted({who for _, _, who in reference})
    times = np.array([grid.time(i) for i in range(len(count))])
    active = np.zeros((len(count), len(names) + 1), bool)
    truth = np.zeros((len(count), len(names)), bool)
    for start, end, who in reference:
        truth[(times >= start) & (times < end), names.index(who)] = True
    for i in np.flatnonzero(count > 0):
        on = np.flatnonzero(truth[i])[: count[i]]
        active[i, on] = True
        active[i, -1] = len(on) == 0  # the pipeline names someone in every frame the segmentation hears speech
    labels = [*names, EXTRA]
    turns = [(grid.time(a), min(grid.time(b), front.seconds), labels[c])
             for c in range(active.shape[1]) for a, b in runs(active[:, c])]
    return sorted((a, b, who) for a, b, who in turns if b > a)


def score_floor(ref_dir: Path, segmentation: Segmenter, config: LabelingConfig | None = None,
                collar: float = COLLAR_S, progress: Callable[[str], None] | None = None) -> DerReport:
    """The identity floor of every ``<uri>.rttm`` in ``ref_dir`` whose audio lies beside it (``<uri>.wav``, ...).

    Raises
    ------
    LabelingError
        No reference file, or a reference without audio beside it.
    """
    pairs: dict[str, Any] = {}
    notes: list[str] = []
    for uri, (ref, uem) in references(ref_dir).items():
        audio = next((p for p in sorted(Path(ref_dir).glob(f"{uri}.*")) if p.suffix.lower() in AUDIO_SUFFIXES), None)
        if audio is None:
            raise LabelingError(f"no audio for {uri} in {ref_dir}: the floor needs <uri>.wav (or .flac ...) "
                                "beside <uri>.rttm")
        if progress is not None:
            progress(uri)
        if uem is None:
            notes.append(f"{uri}: no UEM, scored over the extent of reference and hypothesis")
        pairs[uri] = (ref, floor_turns(segmentation, config or LabelingConfig(), audio, ref), uem)
    report = score_pairs(pairs, collar)
    report.counts = False  # the floor takes the reference's speakers
    for uri, (_, hyp, _) in pairs.items():  # speakers found: the reference's, not the stand-in for false alarms
        report.files[uri]["hyp_speakers"] = len({who for _, _, who in hyp} - {EXTRA})
    report.notes.extend(notes)
    return report
