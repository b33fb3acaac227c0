"""The DET plot is a readable PNG of the expected size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.det_plot import plot_det


def test_det_plot_writes_a_png(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    scores = np.r_[rng.normal(2, 1, 300), rng.normal(0, 1, 3000), [-np.inf] * 5]
    labels = np.r_[np.ones(300, int), np.zeros(3000, int), np.ones(5, int)]
    out = plot_det({"synthetic": (scores, labels)}, tmp_path / "sub" / "det.png", threshold=1.0)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (600, 600)


def test_det_plot_needs_a_curve(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        plot_det({}, tmp_path / "det.png")
