"""Routes members replicate with: digests to compare, clocks to list, records to fetch, and pushed records to apply.

A puller compares digests, lists the (kind, key, HLC) of the records written after its cursor, and fetches only
those it lacks or holds older; a writer pushes its new records.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from peer.api.deps import node_of
from peer.api.routes_cluster import cluster_of, member

router = APIRouter(prefix="/api/v1/cluster", tags=["cluster"])


class Records(BaseModel):
    """Replicated records (``ReplicaRecord.to_json``)."""

    records: list[dict[str, Any]] = Field(max_length=100_000)


class RecordKeys(BaseModel):
    """``[kind, key]`` pairs to fetch."""

    keys: list[tuple[str, list[str]]] = Field(max_length=10_000)


@router.get("/digest", summary="Per-kind digest of the store for anti-entropy")
async def digest(request: Request, caller: str = Depends(member)) -> dict[str, Any]:
    node, cluster = node_of(request), cluster_of(request)
    return await node.run(cluster.replicator.digest)


@router.get("/clocks", summary="Kind, key and HLC of records written after an HLC, oldest first")
async def clocks(request: Request, after: str | None = Query(None, max_length=128),
                 limit: int = Query(5000, ge=1, le=20_000), caller: str = Depends(member)) -> dict[str, Any]:
    node, cluster = node_of(request), cluster_of(request)
    return {"entries": await node.run(cluster.replicator.clocks, after, limit)}


@router.post("/records", summary="The current records of the given keys (unknown keys are left out)")
async def records(request: Request, body: RecordKeys, caller: str = Depends(member)) -> dict[str, Any]:
    node, cluster = node_of(request), cluster_of(request)
    return {"records": await node.run(cluster.replicator.records, body.keys)}


@router.post("/replicate", summary="Apply records a member pushed (API keys: from the admin node only, else 403)")
async def replicate(request: Request, body: Records, caller: str = Depends(member)) -> dict[str, Any]:
    node, cluster = node_of(request), cluster_of(request)
    return {"applied": await node.run(cluster.replicator.apply, body.records, caller)}
