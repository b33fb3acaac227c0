"""Property-based fuzzing of every route from the node's own OpenAPI document: no 500s, no hangs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from engine.models.base import EmbeddingModel
from peer import const
from tests.peer.conftest import Running, running_node

EXAMPLES_PER_ROUTE = 30


@pytest.fixture(scope="session")
def fuzz_node(ge2e: EmbeddingModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A plain-HTTP loopback node of its own (fuzzing deletes and locks things) with generous rate limits."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(const, "RATE_PER_KEY", 10_000.0)
        patch.setattr(const, "BURST_PER_KEY", 10_000)
        with running_node(tmp_path_factory.mktemp("fuzz"), ge2e, tls=False) as running:
            yield running


def test_no_route_answers_500_to_generated_input(fuzz_node: Running) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzz_node.url}/api/v1/openapi.json")
    headers = {"X-API-Key": fuzz_node.keys["admin"]}
    labels = []
    for result in schema.get_all_operations():
        operation = result.ok()
        labels.append(operation.label)

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_ROUTE, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            response = case.call(base_url=fuzz_node.url, headers=headers, timeout=60)
            case.validate_response(response, checks=[not_a_server_error])
            if response.status_code >= 400 and response.headers.get("content-type") == "application/json":
                error = response.json()["error"]
                assert {"code", "message", "details"} <= set(error), response.text

        check()
    assert len(labels) >= 15


def test_the_node_is_healthy_after_fuzzing(fuzz_node: Running) -> None:
    with fuzz_node.client(None) as client:
        assert client.get("/ready").status_code == 200
    assert Path(fuzz_node.directory).exists()
