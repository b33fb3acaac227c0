"""The app factory: routes, error handlers, middleware and the OpenAPI document under /api/v1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from peer.api import routes_cluster, routes_meetings, routes_replication, routes_system, routes_voiceprint
from peer.api.deps import document_scopes
from peer.api.docs import ASSETS_URL, DOCS_URL, install_docs
from peer.api.errors import install_error_handlers
from peer.api.middleware import BodyGuardMiddleware, MetricsMiddleware
from peer.node import Node
from peer.version import VERSION

DESCRIPTION = """Speaker verification node of Edge-VoMID.

Every route except `/health` and `/ready` needs an API key in the `X-API-Key` header
(`vomid keys create --scope enrol|verify|admin`); each operation states which under `x-required-scope`
(`public`: no key; `cluster-member`: a member's client certificate, no key). Errors are always
`{"error": {"code", "message", "details"}}`.

What each scope is told: a key with the **verify** scope only (a door, a kiosk client) gets decisions, not
how close they came: `/voiceprint/verify` answers `accepted` with `score`, `raw_score`, `threshold` and
`normalised` null, and an id that is not enrolled (or is disabled) is an ordinary rejection after the same
audio checks, never a 404, so the answers do not tell which ids are enrolled; `/voiceprint/identify`
answers speaker ids without names or scores. Keys with the **enrol** or **admin** scope, which manage the
enrolments, see scores, names, 404 for an unknown id and 423 for a disabled one. Any key gets 423 with
`Retry-After` after repeated failures for one speaker (the lockout)."""


def create_app(node: Node) -> FastAPI:
    """A FastAPI app serving ``node``; the node's workers start and stop with the app."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        node.start()
        try:
            yield
        finally:
            node.stop()

    app = FastAPI(
        title="Edge-VoMID node",
        version=VERSION,
        description=DESCRIPTION,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # served by peer.api.docs from local files (no CDN on an offline kiosk)
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.node = node
    routers = [routes_system.router, routes_voiceprint.router, routes_meetings.router, routes_cluster.router,
               routes_replication.router]
    for router in routers:
        app.include_router(router)
    install_docs(app, "/api/v1/openapi.json")
    plain_openapi = app.openapi
    public_paths = ["/api/v1/openapi.json", DOCS_URL, ASSETS_URL + "/{name}"]
    app.openapi = lambda: document_scopes(routers, plain_openapi(), public_paths)  # type: ignore[method-assign]
    install_error_handlers(app)
    app.add_middleware(BodyGuardMiddleware)
    app.add_middleware(MetricsMiddleware, metrics=node.metrics)
    return app
