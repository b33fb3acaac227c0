"""DET curve as a PNG: FRR against FAR on normal-deviate axes (matplotlib Agg canvas, no pyplot)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from scipy.stats import norm

from engine.metrics import det_points, eer, rates_at

_TICKS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4)
_LIMITS = (0.0005, 0.5)


def _deviate(p: np.ndarray) -> np.ndarray:
    """Probit of rates clipped onto the plotted range (zero rates run along the axes)."""
    return np.asarray(norm.ppf(np.clip(p, _LIMITS[0], _LIMITS[1])))


def plot_det(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    path: str | Path,
    *,
    title: str = "DET curve",
    threshold: float | None = None,
) -> Path:
    """Draw one DET curve per named score set and save it as a PNG.

    Parameters
    ----------
    curves : label -> (scores, labels) of one evaluation run (0/1 labels, 1 = target)
    path : output PNG file; its folder is created when missing
    title : figure title
    threshold : when given, mark the operating point of each curve at this threshold

    Returns
    -------
    Path
        The written file.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not curves:
        raise ValueError("plot_det needs at least one score set")
    fig = Figure(figsize=(6, 6), dpi=100)
    FigureCanvasAgg(fig)  # no pyplot: no global state, safe off the main thread
    ax = fig.subplots()
    for name, (scores, labels) in curves.items():
        far, frr = det_points(scores, labels)
        e, _ = eer(scores, labels)
        (line,) = ax.plot(_deviate(far), _deviate(frr), lw=1.6, label=f"{name} (EER {100 * e:.2f} %)")
        ax.plot(_deviate(np.array([e])), _deviate(np.array([e])), "o", color=line.get_color(), ms=5)
        if threshold is not None:
            fa, fr = rates_at(scores, labels, threshold)
            ax.plot(_deviate(np.array([fa])), _deviate(np.array([fr])), "s", color=line.get_color(), ms=6,
                    mfc="none", label=f"threshold {threshold:.3f}: FAR {100 * fa:.2f} %, FRR {100 * fr:.2f} %")
    lim = _deviate(np.array(_LIMITS))
    ticks = _deviate(np.array(_TICKS))
    labels_txt = [f"{100 * t:g}" for t in _TICKS]
    ax.plot(lim, lim, ":", color="grey", lw=0.8)
    ax.set_xlim(*lim)
    ax.set_ylim(*lim)
    ax.set_xticks(ticks, labels_txt)
    ax.set_yticks(ticks, labels_txt)
    ax.set_xlabel("False accept rate (%)")
    ax.set_ylabel("False reject rate (%)")
    ax.set_title(title)
    ax.grid(True, ls="--", lw=0.5, alpha=0.6)
    ax.legend(loc="upper right", fontsize=8)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, format="png")
    return out
