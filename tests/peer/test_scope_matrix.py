"""Who may call what, generated from the OpenAPI document: every operation x {no key, wrong key, each scope}.

Each operation states its caller under ``x-required-scope`` (an API key scope, ``public`` or
``cluster-member``); the routes served outside the document (Swagger UI, the document) are listed under
``x-public-paths``. A route without a declaration fails here. Cluster routes take a member's client
certificate, never an API key: on a node outside a cluster every credential gets 409, and the mutual-TLS
refusal of a non-member on a real cluster is tested in tests/peer/cluster/test_cluster.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Route

from peer.api.app import create_app
from peer.api.deps import CLUSTER_MEMBER, PUBLIC, PUBLIC_PATHS_EXTENSION, SCOPE_EXTENSION
from peer.node import NodeLimits
from tests.peer.conftest import SCOPES, Running, running_node

KEY_SCOPES = set(SCOPES)  # enrol, verify, admin
CREDENTIALS = ("no key", "wrong key", *SCOPES)
PATH_VALUES = {"user_id": "nobody", "node_id": "node-x", "name": "swagger-ui.css"}
WRONG_KEY = "vmd_" + "0" * 40
# What each operation declared when this test was written: narrowing a route's scope (a DELETE for an `enrol`
# key) moves its declaration with it, so the matrix alone would pass; this table makes the change visible here.
PINNED = {
    ("GET", "/health"): "public",
    ("GET", "/ready"): "public",
    ("GET", "/metrics"): "admin",
    ("GET", "/api/v1/stats"): "admin",
    ("GET", "/api/v1/storage/stats"): "admin",
    ("GET", "/api/v1/cluster/status"): "admin",
    ("GET", "/api/v1/cluster/nodes"): "admin",
    ("POST", "/api/v1/cluster/nodes"): "admin",
    ("DELETE", "/api/v1/cluster/nodes/{node_id}"): "admin",
    ("POST", "/api/v1/voiceprint/register"): "enrol",
    ("POST", "/api/v1/voiceprint/verify"): "verify",
    ("POST", "/api/v1/voiceprint/identify"): "verify",
    ("POST", "/api/v1/embed"): "verify",
    ("GET", "/api/v1/voiceprint/{user_id}"): "enrol",
    ("DELETE", "/api/v1/voiceprint/{user_id}"): "admin",
    ("PUT", "/api/v1/voiceprint/{user_id}/status"): "admin",
    ("GET", "/api/v1/voiceprints"): "admin",
    ("POST", "/api/v1/meetings/label"): "verify",
    ("GET", "/api/v1/cluster/ping"): "cluster-member",
    ("POST", "/api/v1/cluster/embed"): "cluster-member",
    ("POST", "/api/v1/cluster/revoke"): "cluster-member",
    ("GET", "/api/v1/cluster/members"): "cluster-member",
    ("POST", "/api/v1/cluster/join"): "public",
    ("POST", "/api/v1/cluster/token"): "admin",
    ("GET", "/api/v1/cluster/digest"): "cluster-member",
    ("GET", "/api/v1/cluster/clocks"): "cluster-member",
    ("POST", "/api/v1/cluster/records"): "cluster-member",
    ("POST", "/api/v1/cluster/replicate"): "cluster-member",
}


@pytest.fixture(scope="module")
def open_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A node without a model, with limits high enough for a few hundred requests (some failing auth)."""
    limits = NodeLimits(rate_per_s=1000.0, burst=10_000, auth_failures_per_min=10_000)
    with running_node(tmp_path_factory.mktemp("matrix"), None, limits=limits) as running:
        yield running


@pytest.fixture(scope="module")
def document(open_node: Running) -> dict[str, Any]:
    with open_node.client(None) as client:
        r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


def operations(document: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """(method, path, declared scope or None) for every operation, and the public paths outside the document."""
    ops = [(method.upper(), path, op.get(SCOPE_EXTENSION))
           for path, item in document["paths"].items() for method, op in item.items()]
    return ops + [("GET", path, PUBLIC) for path in document.get(PUBLIC_PATHS_EXTENSION, [])]


def call(node: Running, credential: str, method: str, path: str) -> Any:
    url = path.format(**PATH_VALUES)
    key = WRONG_KEY if credential == "wrong key" else node.keys.get(credential)
    headers = {"X-API-Key": key} if key else {}
    body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    with node.client(None) as client:
        return client.request(method, url, headers=headers, **body)


def expected(declared: str, credential: str, status: int) -> bool:
    """Whether ``status`` is right for ``credential`` on a route declaring ``declared``."""
    if declared == PUBLIC:
        return status not in (401, 403)
    if declared == CLUSTER_MEMBER:  # no API key opens a member route; outside a cluster: 409
        return status == 409
    if credential in ("no key", "wrong key"):
        return status == 401
    if credential == declared or credential == "admin":
        return status not in (401, 403)
    return status == 403


def test_every_operation_declares_who_may_call_it(document: dict[str, Any]) -> None:
    undeclared = [(m, p) for m, p, scope in operations(document) if scope not in KEY_SCOPES | {PUBLIC, CLUSTER_MEMBER}]
    assert undeclared == [], f"routes without a valid {SCOPE_EXTENSION}: {undeclared}"
    assert {("GET", "/health"), ("GET", "/ready"), ("GET", "/api/v1/openapi.json"), ("GET", "/api/v1/docs")} <= {
        (m, p) for m, p, scope in operations(document) if scope == PUBLIC}


def test_declarations_match_the_pinned_table(document: dict[str, Any]) -> None:
    declared = {(m, p): scope for m, p, scope in operations(document)}
    assert {op: declared.get(op) for op in PINNED} == PINNED


def test_routes_outside_the_document_are_listed_public(open_node: Running, document: dict[str, Any]) -> None:
    # Routers' routes make up the document; the app's own routes (Swagger UI, the document) must be listed.
    outside = {r.path for r in create_app(open_node.node).routes if isinstance(r, Route | APIRoute)}
    assert outside and outside <= set(document[PUBLIC_PATHS_EXTENSION])


def test_scope_matrix(open_node: Running, document: dict[str, Any]) -> None:
    wrong, checked = [], 0
    for method, path, declared in operations(document):
        assert declared is not None, (method, path)
        for credential in CREDENTIALS:
            r = call(open_node, credential, method, path)
            checked += 1
            if not expected(declared, credential, r.status_code):
                wrong.append(f"{method} {path} [{declared}] with {credential}: {r.status_code} {r.text[:80]}")
    assert wrong == [], "\n".join(wrong)
    assert checked >= 5 * 30


def test_scope_errors_say_what_is_missing(open_node: Running) -> None:
    with open_node.client("enrol") as client:
        r = client.delete("/api/v1/voiceprint/nobody")
    assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_scope", r.text
    assert r.json()["error"]["details"] == {"needed": "admin"}
