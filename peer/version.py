"""The installed version of edge-vomid, as the node reports it (health, OpenAPI, cluster adverts)."""

from __future__ import annotations

import importlib.metadata


def _version() -> str:
    try:
        return importlib.metadata.version("edge-vomid")
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0+source"


VERSION = _version()
