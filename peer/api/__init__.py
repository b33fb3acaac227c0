"""The node's REST API: ``create_app(node)`` builds the FastAPI app."""

from peer.api.app import create_app

__all__ = ["create_app"]
