"""The node's REST API: ``create_app(node)`` builds the FastAPI app.

``create_app`` is imported on first use, so that ``peer.api.schemas`` (which the Python client shares)
loads without FastAPI or the node behind it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from peer.api.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from peer.api.app import create_app

        return create_app
    raise AttributeError(f"module 'peer.api' has no attribute {name!r}")
