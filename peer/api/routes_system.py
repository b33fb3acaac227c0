"""Health, readiness, metrics, stats and the cluster routes (a single node until the cluster issue)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from starlette.responses import JSONResponse, Response

from peer.api import schemas as s
from peer.api.deps import node_of, public, require
from peer.auth import Principal
from peer.errors import NotFoundError
from peer.node import Node
from peer.version import VERSION

router = APIRouter()
ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": s.ErrorBody} for code in (401, 403, 404, 409, 422, 429, 503)}
NodeId = Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")


def _health(node: Node, status: str, feed: dict[str, Any] | None = None) -> dict[str, Any]:
    body = {"status": status, "node_id": node.node_id, "version": VERSION, "model_id": node.model_id,
            "ready": node.ready}
    if feed is not None:
        body["index_feed"] = feed
    return body


@router.get("/health", response_model=s.Health, tags=["system"], summary="Liveness (no API key)",
            dependencies=[Depends(public)])
async def health(request: Request) -> Any:
    return _health(node_of(request), "ok")


@router.get("/ready", response_model=s.Health, tags=["system"], responses={503: {"model": s.Health}},
            summary="Readiness: model loaded and store open; in site mode also the index following the other "
            "nodes' writes (index_feed) (no API key)", dependencies=[Depends(public)])
async def ready(request: Request) -> Any:
    node = node_of(request)
    feed = _feed_state(node)
    if not node.ready:
        return JSONResponse(_health(node, "loading", feed), status_code=503, headers={"Retry-After": "1"})
    if feed is not None and not feed["connected"]:  # it may miss other nodes' enrolments and deletions
        return JSONResponse(_health(node, "stale", feed), status_code=503, headers={"Retry-After": "1"})
    return JSONResponse(_health(node, "ready", feed)) if feed is not None else _health(node, "ready")


def _feed_state(node: Node) -> dict[str, Any] | None:
    """Site mode: the index feed's state; None for a node with no feed."""
    feed = getattr(node.store, "feed", None)
    return feed.state() if feed is not None else None


@router.get("/metrics", tags=["system"], responses=ERRORS, response_class=Response,
            summary="Prometheus metrics (admin key; X-API-Key or Authorization: Bearer)")
async def metrics(request: Request, who: Principal = Depends(require("admin"))) -> Response:
    node = node_of(request)
    speakers = await node.run(node.store.count_speakers)
    text = node.metrics.render(queue_depth=node.queue_depth(), speakers=speakers, feed=_feed_state(node))
    return Response(text, media_type="text/plain; version=0.0.4; charset=utf-8")


@router.get("/api/v1/stats", tags=["system"], responses=ERRORS, summary="Counts, latency percentiles, decision rates")
async def stats(request: Request, who: Principal = Depends(require("admin"))) -> dict[str, Any]:
    node = node_of(request)
    batcher = node.batcher
    out = node.metrics.stats()
    out.update(node_id=node.node_id, model_id=node.model_id, queue_depth=node.queue_depth(),
               batches=batcher.batches if batcher else 0, batched_embeddings=batcher.items if batcher else 0)
    return out


@router.get("/api/v1/storage/stats", tags=["system"], responses=ERRORS, summary="Store size by status")
async def storage_stats(request: Request, who: Principal = Depends(require("admin"))) -> dict[str, Any]:
    node = node_of(request)
    return await node.run(_storage, node)


def _storage(node: Node) -> dict[str, Any]:
    by_status = {st: node.store.count_speakers(status=st) for st in ("active", "disabled", "locked")}
    indexed = len(node.store.matrix(node.model_id)[0]) if node.model_id else 0
    return {"speakers": sum(by_status.values()), "by_status": by_status, "model_id": node.model_id,
            "indexed_voiceprints": indexed}


@router.get("/api/v1/cluster/status", response_model=s.ClusterStatus, tags=["cluster"], responses=ERRORS)
async def cluster_status(request: Request, who: Principal = Depends(require("admin"))) -> Any:
    return node_of(request).cluster.status()


@router.get("/api/v1/cluster/nodes", response_model=list[s.NodeInfo], tags=["cluster"], responses=ERRORS)
async def cluster_nodes(request: Request, who: Principal = Depends(require("admin"))) -> Any:
    return node_of(request).cluster.nodes()


@router.post("/api/v1/cluster/nodes", response_model=s.NodeInfo, status_code=201, tags=["cluster"], responses=ERRORS)
async def cluster_add(request: Request, body: s.NodeAdd, who: Principal = Depends(require("admin"))) -> Any:
    node = node_of(request)
    return await node.run(node.cluster.add, body.address)


@router.delete("/api/v1/cluster/nodes/{node_id}", tags=["cluster"], responses=ERRORS)
async def cluster_remove(request: Request, node_id: str = NodeId,
                         who: Principal = Depends(require("admin"))) -> dict[str, Any]:
    node = node_of(request)
    if not await node.run(node.cluster.remove, node_id):
        raise NotFoundError(f"no removable node {node_id!r}", details={"node_id": node_id})
    return {"node_id": node_id, "removed": True}
