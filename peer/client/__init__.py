"""Typed Python clients of a node (sync and asyncio), with retries and TLS certificate pinning."""

from peer.client.aio import AsyncNodeClient
from peer.client.sync import NodeClient
from peer.client.transport import RetryPolicy, error_from

__all__ = ["AsyncNodeClient", "NodeClient", "RetryPolicy", "error_from"]
