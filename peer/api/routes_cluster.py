"""Routes between members (mutual TLS, no API key): ping, embed, revoke; joining. Replication: routes_replication."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from peer.api.body import read_body
from peer.api.deps import CLUSTER_MEMBER, declares, node_of, public, require
from peer.auth import Principal
from peer.errors import ClusterDisabledError, ModelNotLoadedError, RequestValidationFailed, ScopeError

if TYPE_CHECKING:
    from peer.cluster import ClusterNode

ADMIN = Depends(require("admin"))
router = APIRouter(prefix="/api/v1/cluster", tags=["cluster"], include_in_schema=True)


class NotAMemberError(ScopeError):
    """The caller presented no valid, unrevoked cluster certificate (403)."""

    code = "not_a_member"


class JoinRequest(BaseModel):
    """A joining node's CSR, the token it proves, and the HMAC proof."""

    node_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_:-]+$")
    csr: str = Field(min_length=1, max_length=16_384)
    hosts: list[str] = Field(default_factory=list, max_length=16)
    token_id: str = Field(min_length=1, max_length=64)
    proof: str = Field(min_length=1, max_length=128)


class NodeIds(BaseModel):
    """Node ids to revoke."""

    node_ids: list[str] = Field(max_length=1000)


def cluster_of(request: Request) -> ClusterNode:
    """The node's cluster layer, or 409 when it is not in a cluster."""
    from peer.cluster import ClusterNode

    cluster = node_of(request).cluster
    if not isinstance(cluster, ClusterNode):
        raise ClusterDisabledError("this node is not in a cluster")
    return cluster


@declares(CLUSTER_MEMBER)
async def member(request: Request) -> str:
    """The calling member's node id, from its client certificate; 403 for anyone else."""
    cluster = cluster_of(request)
    node_id = cluster.membership.member_of(request.scope.get("vomid.peer_cert"))
    if node_id is None or cluster.is_blocked(node_id):
        raise NotAMemberError("only members of this cluster may call this route")
    return node_id


@router.get("/ping", summary="Health check between members")
async def ping(request: Request, caller: str = Depends(member)) -> dict[str, Any]:
    return cluster_of(request).ping_body()


@router.post("/embed", summary="Embeddings of float32 waveforms, computed here for a member that offloads")
async def embed(request: Request, caller: str = Depends(member)) -> dict[str, Any]:
    from peer.overflow import local_model

    node, cluster = node_of(request), cluster_of(request)
    model_id = cluster.local_model_id()
    if model_id is None or model_id != request.headers.get("x-vomid-model"):
        raise ModelNotLoadedError(f"this node does not run {request.headers.get('x-vomid-model')}")
    try:
        lengths = [int(n) for n in request.headers.get("x-vomid-lengths", "").split(",")]
        samples = np.frombuffer(await read_body(request), dtype="<f4")
        if sum(lengths) != len(samples) or min(lengths) <= 0:
            raise ValueError("lengths")
    except ValueError as exc:
        raise RequestValidationFailed("body and x-vomid-lengths do not match") from exc
    waves = np.split(samples, np.cumsum(lengths)[:-1])
    vectors = await node.run(local_model(node.engine.model).embed_batch, waves)  # here: never passed on
    return {"model_id": model_id, "vectors": np.asarray(vectors).tolist()}


@router.post("/revoke", summary="Revoke members' certificates (from any member)")
async def revoke(request: Request, body: NodeIds, caller: str = Depends(member)) -> dict[str, Any]:
    node, cluster = node_of(request), cluster_of(request)
    changed = [node_id for node_id in body.node_ids if await node.run(cluster.remove, node_id)]
    return {"revoked": sorted(cluster.membership.revoked), "changed": changed}


@router.get("/members", summary="This node's view of the cluster, for members (`vomid cluster status`)")
async def members(request: Request, caller: str = Depends(member)) -> dict[str, Any]:
    return cluster_of(request).status()


@router.post("/join", summary="Join with a one-time token (proof of the token's secret, no API key)",
             dependencies=[Depends(public)])
async def join(request: Request, body: JoinRequest) -> dict[str, Any]:
    node, cluster = node_of(request), cluster_of(request)
    return await node.run(cluster.membership.accept_join, body.model_dump())


@router.post("/token", summary="A one-time join token naming this node (admin key)")
async def token(request: Request, who: Principal = ADMIN) -> dict[str, Any]:
    node, cluster = node_of(request), cluster_of(request)
    address = f"{cluster.options.host}:{cluster.options.port}"
    return {"token": (await node.run(cluster.membership.new_token, address)).encode()}

