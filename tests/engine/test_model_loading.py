"""Where model weights come from: a local directory or file, the ModelScope cache, or nowhere (fast)."""

from __future__ import annotations

import functools
import http.server
import json
import socket
import threading
import time
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import soundfile as sf
import torch

from engine.config import ModelConfig as _ModelConfig
from engine.errors import ModelUnavailableError
from engine.features import fbank
from engine.models import get_spec, load_model, loader
from engine.models.campplus import CAMPPlus
from engine.models.loader import build_network

SPEC = get_spec("campplus")
# These tests are about the ModelScope-hosted CAM++ and where its weights come from (not the default model).
ModelConfig = functools.partial(_ModelConfig, model_id="campplus")
THREADS = 1  # behaviour, not speed: one torch thread is quickest on a shared, oversubscribed machine


@pytest.fixture
def closed_hub(monkeypatch: pytest.MonkeyPatch) -> tuple[str, int]:
    """Point the hub probe at a local port where nothing listens (a connection is refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for name in loader.HUB_ENVS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(loader, "HUB_HOST", "127.0.0.1")
    monkeypatch.setattr(loader, "HUB_PORT", port)
    return "127.0.0.1", port


@pytest.fixture(scope="module")
def checkpoint_state() -> dict[str, torch.Tensor]:
    """A full CAM++ state dict with seeded random weights, standing in for the official one."""
    return build_network(SPEC, seed=123).state_dict()


@pytest.fixture(scope="module")
def speech(shared_data: Path) -> np.ndarray:
    return sf.read(shared_data / "verification" / "zh" / "S0913" / "BAC009S0913W0304.wav", dtype="float32")[0]


def _write_model_dir(folder: Path, state: dict[str, torch.Tensor]) -> Path:
    """Lay out a directory the way ModelScope ships the model: configuration.json + checkpoint."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {"framework": "pytorch", "task": "speaker-verification",
              "model": {"type": "cam++-sv", "model_config": {"sample_rate": 16000, "fbank_dim": 80, "emb_size": 192},
                        "pretrained_model": SPEC.checkpoint}}
    (folder / "configuration.json").write_text(json.dumps(config), encoding="utf-8")
    torch.save(state, folder / SPEC.checkpoint)
    return folder / SPEC.checkpoint


def _reference_embedding(state: dict[str, torch.Tensor], speech: np.ndarray) -> np.ndarray:
    """The embedding a network holding exactly ``state`` gives, built without the loader."""
    net = CAMPPlus(feat_dim=80, embedding_size=192).eval()
    net.load_state_dict(state, strict=True)
    with torch.inference_mode():
        return net(torch.from_numpy(fbank(speech)).unsqueeze(0))[0].numpy()


def test_offline_without_cache_fails_fast_and_says_how_to_fix(tmp_path: Path, closed_hub: tuple[str, int]) -> None:
    import modelscope.hub.snapshot_download  # noqa: F401  (import cost is not what is measured)

    config = ModelConfig(model_id="campplus", cache_dir=tmp_path / "cache", allow_download=True, download_timeout_s=3.0)
    start = time.monotonic()
    with pytest.raises(ModelUnavailableError) as err:
        load_model(config)
    elapsed = time.monotonic() - start
    assert elapsed < 5.0  # a bare ModelScope hub call with no network hangs for about 32 s
    message = str(err.value)
    assert err.value.details["reason"] == "offline"
    assert "campplus" in message and "not in the ModelScope cache" in message and "offline" in message
    assert "vomid models install campplus --from DIR" in message and "campplus-zh-en" in message
    assert f"127.0.0.1:{closed_hub[1]}" in message


def test_a_mirror_set_for_modelscope_is_the_address_probed(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in loader.HUB_ENVS:
        monkeypatch.delenv(name, raising=False)
    assert loader.hub_address() == (loader.HUB_HOST, loader.HUB_PORT)
    monkeypatch.setenv("MODELSCOPE_DOMAIN", "mirror.example.org")
    assert loader.hub_address() == ("mirror.example.org", 443)
    monkeypatch.setenv("MODELSCOPE_ENDPOINT", "http://127.0.0.1:9/")
    assert loader.hub_address() == ("127.0.0.1", 9)


class _NotFoundHub(http.server.BaseHTTPRequestHandler):
    """A hub mirror that knows no model: every request gets a JSON 404 and is recorded."""

    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.seen.append(self.path)
        body = b'{"Code": 404, "Message": "not found"}'
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet."""


def test_download_asks_for_the_pinned_revision_and_reports_failure(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), _NotFoundHub)
    thread = threading.Thread(target=server.serve_forever, name="fake-hub", daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("MODELSCOPE_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
        monkeypatch.delenv("MODELSCOPE_DOMAIN", raising=False)
        with pytest.raises(ModelUnavailableError) as err:
            load_model(ModelConfig(cache_dir=tmp_path / "cache", allow_download=True, threads=THREADS))
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert err.value.details["reason"] == "download_failed"
    assert "download failed" in str(err.value) and "--from DIR" in str(err.value)
    assert any(SPEC.repo_id in path and "Revision=v1.0.0" in path for path in _NotFoundHub.seen)


def test_downloads_disabled_and_not_cached(tmp_path: Path, closed_hub: tuple[str, int]) -> None:
    config = ModelConfig(model_id="campplus", cache_dir=tmp_path / "cache", allow_download=False)
    with pytest.raises(ModelUnavailableError) as err:
        load_model(config)
    assert err.value.details["reason"] == "not_cached"
    assert "allow_download" in str(err.value) and "--from DIR" in str(err.value)


def test_empty_model_dir_is_reported_before_the_cache(tmp_path: Path, closed_hub: tuple[str, int]) -> None:
    config = ModelConfig(model_dir=tmp_path / "nothing-here", cache_dir=tmp_path / "cache", allow_download=False)
    with pytest.raises(ModelUnavailableError, match=r"no campplus_cn_common\.bin in model_dir .*empty or missing"):
        load_model(config)
    _write_model_dir(tmp_path / "other", {"w": torch.zeros(1)})
    (tmp_path / "other" / SPEC.checkpoint).rename(tmp_path / "other" / "pretrained_eres2netv2.ckpt")
    config = ModelConfig(model_dir=tmp_path / "other", cache_dir=tmp_path / "cache", allow_download=False)
    with pytest.raises(ModelUnavailableError, match=r"it holds configuration\.json, pretrained_eres2netv2\.ckpt"):
        load_model(config)


def test_loads_from_a_model_directory(tmp_path: Path, checkpoint_state: dict[str, torch.Tensor],
                                      speech: np.ndarray, closed_hub: tuple[str, int]) -> None:
    _write_model_dir(tmp_path / "weights", checkpoint_state)
    config = ModelConfig(model_dir=tmp_path / "weights", cache_dir=tmp_path / "cache", allow_download=False, threads=THREADS)
    model = load_model(config)
    assert model.random_weights is False  # type: ignore[attr-defined]
    got = model.embed_batch([speech])[0]
    np.testing.assert_allclose(got, _reference_embedding(checkpoint_state, speech), atol=1e-5)


def test_loads_from_the_checkpoint_file_itself(tmp_path: Path, checkpoint_state: dict[str, torch.Tensor],
                                               speech: np.ndarray) -> None:
    path = _write_model_dir(tmp_path / "weights", checkpoint_state)
    model = load_model(ModelConfig(model_dir=path, allow_download=False, trace=False, threads=THREADS))
    np.testing.assert_allclose(model.embed_batch([speech])[0], _reference_embedding(checkpoint_state, speech), atol=1e-5)


def test_loads_from_the_modelscope_cache_offline(tmp_path: Path, checkpoint_state: dict[str, torch.Tensor],
                                                 speech: np.ndarray, closed_hub: tuple[str, int]) -> None:
    # the layout ModelScope 1.40 writes under the model cache's modelscope/ folder:
    # {cache}/modelscope/models/{owner}--{name}/snapshots/{revision}/
    snapshot = tmp_path / "cache" / "modelscope" / "models" / SPEC.repo_id.replace("/", "--") / "snapshots" / SPEC.revision
    _write_model_dir(snapshot, checkpoint_state)
    model = load_model(ModelConfig(cache_dir=tmp_path / "cache", allow_download=False, trace=False, threads=THREADS))
    np.testing.assert_allclose(model.embed_batch([speech])[0], _reference_embedding(checkpoint_state, speech), atol=1e-5)


def test_checkpoint_missing_a_key_is_a_clear_error(tmp_path: Path, checkpoint_state: dict[str, torch.Tensor]) -> None:
    state = dict(checkpoint_state)
    del state["xvector.block3.tdnnd16.cam_layer.linear2.bias"]
    path = _write_model_dir(tmp_path / "weights", state)
    with pytest.raises(ModelUnavailableError) as err:
        load_model(ModelConfig(model_dir=path, allow_download=False))
    assert err.value.details["reason"] == "bad_checkpoint"
    assert "missing keys: xvector.block3.tdnnd16.cam_layer.linear2.bias" in str(err.value)
    assert str(path) in str(err.value)


def test_checkpoint_with_an_extra_key_is_a_clear_error(tmp_path: Path, checkpoint_state: dict[str, torch.Tensor]) -> None:
    state = dict(checkpoint_state, **{"xvector.dense.linear.bias": torch.zeros(192)})
    path = _write_model_dir(tmp_path / "weights", state)
    with pytest.raises(ModelUnavailableError, match=r"unexpected keys: xvector\.dense\.linear\.bias"):
        load_model(ModelConfig(model_dir=path, allow_download=False))


def test_garbage_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / SPEC.checkpoint).write_bytes(b"<html>404 Not Found</html>" * 10)
    with pytest.raises(ModelUnavailableError) as err:
        load_model(ModelConfig(model_dir=folder, allow_download=False))
    assert err.value.details["reason"] == "bad_checkpoint"
    assert "not a readable torch checkpoint" in str(err.value)


def test_fallback_model_loads_from_the_model_cache_with_no_network(closed_hub: tuple[str, int]) -> None:
    before = torch.get_num_threads()
    try:
        model = load_model(ModelConfig(model_id="ge2e", allow_download=False, threads=3))
        assert (model.model_id, model.dim) == ("ge2e", 256)
        assert torch.get_num_threads() == 3  # ModelConfig.threads reaches torch
    finally:
        torch.set_num_threads(before)


def test_fallback_model_not_installed_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError) as err:
        load_model(ModelConfig(model_id="ge2e", cache_dir=tmp_path / "cache"))
    assert err.value.details["reason"] == "not_installed" and "vomid models install ge2e" in str(err.value)
