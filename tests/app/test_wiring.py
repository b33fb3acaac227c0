"""Calibrated thresholds stored per model are in force unless settings name one explicitly."""

from __future__ import annotations

import pytest

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


def test_identify_reads_its_target_fir_from_settings_and_its_impostor_statistics_from_the_calibration(
        tmp_path, monkeypatch):
    monkeypatch.setenv("VOMID_LOG_TO_FILE", "false")
    settings = load_settings(data_dir=tmp_path, model="ge2e")
    assert build_engine(settings).identify_threshold(False, 1000) == build_engine(settings).threshold_for(False)
    write_threshold(thresholds_path(settings), Calibration("ge2e", 0.70, 0.01, 0.01, 0.2, 100, 10,
                                                           impostor_mean=0.5, impostor_std=0.06))
    engine = build_engine(settings)
    assert engine.impostor_scores(False) == (0.5, 0.06)
    assert engine.identify_threshold(False, 1000) == pytest.approx(0.5 + 0.06 * 4.265, abs=1e-3)  # FAR 1e-5
    looser = build_engine(load_settings(data_dir=tmp_path, model="ge2e", identify_fir=0.1, identify_margin_sd=1.0))
    assert looser.identify_threshold(False, 1000) < engine.identify_threshold(False, 1000)
    assert looser.identify_margin(False) == pytest.approx(0.06)

def test_serve_the_kiosk_and_the_cluster_accept_at_the_one_calibrated_threshold(tmp_path, monkeypatch):
    """`vomid serve`'s loader, the kiosk's engine and a cluster offload engine all read thresholds.json (serve and
    the cluster used to ignore it, so the kiosk and the API accepted at different thresholds)."""
    from app.commands.serve import load_engine_into
    from app.kiosk import KioskService
    from app.node_runtime import NodeRuntime
    from app.wiring import engine_over, open_store

    monkeypatch.setenv("VOMID_LOG_TO_FILE", "false")
    settings = load_settings(data_dir=tmp_path, model="ge2e", master_key_source="file")
    write_threshold(thresholds_path(settings), Calibration("ge2e", 0.8123, 0.01, 0.01, 0.2, 100, 10))
    with open_store(settings) as store:
        runtime = NodeRuntime(settings, store, serve=False)
        load_engine_into(runtime.node, settings)  # what `vomid serve` runs
        served = runtime.node.engine
        offload = engine_over(settings, served.model, store)  # what the cluster builds over a peer's model
        kiosk = KioskService(settings, directory=store)
        kiosk.use_model(served.model, served.vad)
        try:
            assert served.threshold_for(False) == offload.threshold_for(False) == kiosk.threshold() == 0.8123
        finally:
            kiosk.close()
            runtime.stop()
