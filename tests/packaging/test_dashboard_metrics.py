"""Every metric the Grafana dashboard queries is one the node really exports on /metrics."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.packaging.promql import metric_names
from tests.packaging.test_ops_files import dashboard_queries

# Series Prometheus makes itself for every scrape target, not exported by the node.
PROMETHEUS_SYNTHETIC = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}


def exported_names(exposition: str) -> set[str]:
    """Family names and sample names (``_total``, ``_bucket``, ``_sum``, ``_count``) of an exposition."""
    names: set[str] = set()
    for family in text_string_to_metric_families(exposition):
        names.add(family.name)
        if family.type == "counter":
            names.add(family.name + "_total")
        if family.type == "histogram":
            names.update(family.name + s for s in ("_bucket", "_sum", "_count"))
        names.update(sample.name for sample in family.samples)
    return names


def node_exposition() -> str:
    """The node's /metrics text, rendered by its own metrics object after one request of each kind."""
    from peer.metrics import NodeMetrics

    metrics = NodeMetrics()
    metrics.observe_request("/api/v1/voiceprint/verify", "POST", 200, 0.031)
    metrics.observe_batch(4, 0.02)
    metrics.decision("verify", "accept")
    metrics.decision("verify", "reject")
    return metrics.render(queue_depth=2, speakers=10).decode("utf-8")


def test_dashboard_metrics_are_exported_by_the_node() -> None:
    exported = exported_names(node_exposition())
    missing = {
        (title, name)
        for title, expr in dashboard_queries()
        for name in metric_names(expr)
        if name not in exported and name not in PROMETHEUS_SYNTHETIC
    }
    assert not missing, f"dashboard queries metrics the node does not export: {sorted(missing)}"


def test_decision_labels_match_the_dashboard() -> None:
    text = node_exposition()
    assert 'vomid_decisions_total{kind="verify",outcome="accept"} 1.0' in text
    assert 'vomid_decisions_total{kind="verify",outcome="reject"} 1.0' in text
    assert "vomid_embedding_queue_depth 2.0" in text
