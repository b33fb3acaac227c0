"""Calibrated thresholds stored per model are in force unless settings name one explicitly."""

from __future__ import annotations

from app.settings import load_settings
from app.wiring import build_engine, thresholds_path
from engine.calibration import Calibration, write_threshold


def test_calibrated_threshold_is_used_per_model_and_scale(tmp_path, monkeypatch):
    monkeypatch.setenv("VOMID_LOG_TO_FILE", "false")
    settings = load_settings(data_dir=tmp_path, model="ge2e")
    default = build_engine(settings).threshold_for(False)
    path = thresholds_path(settings)
    write_threshold(path, Calibration("ge2e", 0.8123, 0.01, 0.01, 0.2, 100, 10, source="en.txt"))
    write_threshold(path, Calibration("ge2e", 2.345, 0.01, 0.01, 0.1, 100, 10, normalised=True))
    write_threshold(path, Calibration("campplus", 0.41, 0.01, 0.01, 0.1, 100, 10))
    engine = build_engine(settings)
    assert default != 0.8123
    assert engine.threshold_for(False) == 0.8123 and engine.threshold_for(True) == 2.345
    explicit = build_engine(load_settings(data_dir=tmp_path, model="ge2e", threshold=0.66))
    assert explicit.threshold_for(False) == 0.66 and explicit.threshold_for(True) == 2.345
