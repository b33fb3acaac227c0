"""Threshold calibration for the kiosk from a site's recorded trials (``label enrol[,enrol...] test`` lines)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.scoring import mean_of_takes

if TYPE_CHECKING:
    from engine.facade import Engine

Progress = Callable[[str, int, int], None]


def calibrate_trials(engine: Engine, trials_path: str | Path, target_far: float,
                     progress: Progress | None = None, *, root: str | Path | None = None) -> Any:
    """Score every trial with the engine's model and choose the threshold giving ``target_far``.

    Paths in the list are relative to ``root``: by default the list's folder, or its parent when the list
    sits in a ``trials`` folder (the layout of ../shared/data). Returns an ``engine.calibration.Calibration``.
    """
    from engine.calibration import calibrate
    from engine.trials import parse_trials

    path = Path(trials_path)
    trials = parse_trials(path.read_text(encoding="utf-8"), source=str(path))
    base = Path(root) if root is not None else path.parent.parent if path.parent.name == "trials" else path.parent
    cache: dict[str, np.ndarray] = {}

    def vector(name: str) -> np.ndarray:
        if name not in cache:
            cache[name] = engine.embed(base / name, purpose=None).vector
        return cache[name]

    scores, labels = [], []
    for i, t in enumerate(trials, 1):
        enrol = mean_of_takes(np.stack([vector(e) for e in t.enrol]))
        scores.append(float(vector(t.test) @ enrol))
        labels.append(t.label)
        if progress is not None:
            progress("trials", i, len(trials))
    return calibrate(np.array(scores), np.array(labels), model_id=engine.model_id, target_far=target_far,
                     source=str(path))
