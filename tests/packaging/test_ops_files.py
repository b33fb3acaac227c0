"""The Docker, compose, Prometheus and Grafana files parse and agree with each other and the node.

Docker has no engine on these machines, so nothing here builds or runs an image; the image's entry point
is run as a plain process in test_entrypoint.py.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.packaging.promql import balanced, metric_names

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "packaging" / "docker"
DASHBOARD = DOCKER / "grafana" / "dashboards" / "vomid-node.json"
INSTRUCTIONS = {
    "FROM",
    "ARG",
    "ENV",
    "RUN",
    "COPY",
    "ADD",
    "LABEL",
    "USER",
    "WORKDIR",
    "VOLUME",
    "EXPOSE",
    "HEALTHCHECK",
    "STOPSIGNAL",
    "ENTRYPOINT",
    "CMD",
    "SHELL",
    "ONBUILD",
}


def dockerfile_instructions(path: Path = DOCKER / "Dockerfile") -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def dockerfile_env(instructions: list[tuple[str, str]]) -> dict[str, str]:
    """ENV values of the final stage (``KEY=VALUE`` pairs; $PATH-style references left as written)."""
    final = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    env: dict[str, str] = {}
    for word, rest in instructions[final:]:
        if word == "ENV":
            for part in shlex.split(rest):
                key, _, value = part.partition("=")
                env[key] = value
    return env


def exec_form(instructions: list[tuple[str, str]], word: str) -> list[str]:
    """The JSON exec form of the last ENTRYPOINT or CMD."""
    value = [rest for w, rest in instructions if w == word][-1]
    parsed = json.loads(value)
    assert isinstance(parsed, list) and all(isinstance(p, str) for p in parsed), f"{word} must be exec form"
    return parsed


def test_dockerfile_parses_and_runs_vomid_serve_as_a_user() -> None:
    ins = dockerfile_instructions()
    words = [w for w, _ in ins]
    assert set(words) <= INSTRUCTIONS, set(words) - INSTRUCTIONS
    assert words.count("FROM") == 2 and words[0] in ("ARG", "FROM")
    assert exec_form(ins, "ENTRYPOINT") == ["vomid"]
    cmd = exec_form(ins, "CMD")
    assert cmd[0] == "serve" and cmd[cmd.index("--host") + 1] == "0.0.0.0"
    port = cmd[cmd.index("--port") + 1]
    assert [rest for w, rest in ins if w == "EXPOSE"] == [port]
    assert f"127.0.0.1:{port}/health" in next(rest for w, rest in ins if w == "HEALTHCHECK")
    users = [rest for w, rest in ins if w == "USER"]
    assert users and users[-1] not in ("root", "0")
    env = dockerfile_env(ins)
    assert env["VOMID_DATA_DIR"] == "/data" and env["VOMID_PROFILE"] == "production"
    assert [rest for w, rest in ins if w == "VOLUME"] == ['["/data"]']


def test_dockerfile_pins_cpu_torch_before_the_project() -> None:
    runs = [rest for w, rest in dockerfile_instructions() if w == "RUN"]
    torch_at = next(i for i, r in enumerate(runs) if "torch==2.13.0" in r)
    assert "--index-url https://download.pytorch.org/whl/cpu" in runs[torch_at]
    project_at = next(i for i, r in enumerate(runs) if "pip install /src" in r)
    assert torch_at < project_at and "torchaudio" not in " ".join(runs)


def test_dockerfile_copies_only_what_exists() -> None:
    for word, rest in dockerfile_instructions():
        if word == "COPY" and not rest.startswith("--from"):
            for source in rest.split()[:-1]:
                assert (REPO / source).exists(), source
    ignore = (DOCKER / "Dockerfile.dockerignore").read_text(encoding="utf-8")
    assert ignore.splitlines()[1] == "**" and "!app/**" in ignore


def _compose() -> dict[str, Any]:
    return yaml.safe_load((DOCKER / "docker-compose.yml").read_text(encoding="utf-8"))


def test_compose_wires_node_prometheus_and_grafana() -> None:
    compose = _compose()
    services = compose["services"]
    assert set(services) == {"vomid", "prometheus", "grafana"}
    build = services["vomid"]["build"]
    context = (DOCKER / build["context"]).resolve()
    assert context == REPO and (context / build["dockerfile"]).is_file()
    assert "8443:8443" in services["vomid"]["ports"]
    for name in ("prometheus", "grafana"):
        for volume in services[name]["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("./") and "secrets/" not in source:
                assert (DOCKER / source).exists(), f"{name} mounts missing {source}"
    named = {
        v.split(":")[0] for s in services.values() for v in s.get("volumes", []) if not v.startswith(".")
    }
    assert named <= set(compose["volumes"])
    assert services["grafana"]["environment"]["GF_AUTH_ANONYMOUS_ENABLED"] == "false"


def test_prometheus_scrapes_the_node_metrics_with_a_key() -> None:
    config = yaml.safe_load((DOCKER / "prometheus.yml").read_text(encoding="utf-8"))
    (job,) = config["scrape_configs"]
    assert job["job_name"] == "vomid" and job["metrics_path"] == "/metrics" and job["scheme"] == "https"
    assert job["static_configs"][0]["targets"] == ["vomid:8443"]
    mounts = _compose()["services"]["prometheus"]["volumes"]
    key_file = job["authorization"]["credentials_file"]
    assert any(m.split(":")[1] == key_file for m in mounts)


def test_grafana_provisioning_points_at_the_dashboard() -> None:
    ds = yaml.safe_load(
        (DOCKER / "grafana/provisioning/datasources/prometheus.yml").read_text(encoding="utf-8")
    )
    (source,) = ds["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    providers = yaml.safe_load(
        (DOCKER / "grafana/provisioning/dashboards/vomid.yml").read_text(encoding="utf-8")
    )
    path = providers["providers"][0]["options"]["path"]
    mounts = _compose()["services"]["grafana"]["volumes"]
    assert f"./grafana/dashboards:{path}:ro" in mounts
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    uids = {t["datasource"]["uid"] for p in dashboard["panels"] for t in p["targets"]}
    assert uids == {source["uid"]}


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) for every target of the dashboard."""
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [(p["title"], t["expr"]) for p in dashboard["panels"] for t in p["targets"]]


def test_dashboard_has_the_panels_operators_need() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    titles = " | ".join(p["title"].lower() for p in dashboard["panels"])
    for wanted in ("request rate", "latency percentiles", "accept / reject", "peers up", "queue depth"):
        assert wanted in titles, wanted
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)) and dashboard["uid"] == "vomid-node"
    latency = next(expr for title, expr in dashboard_queries() if title == "Request latency percentiles")
    assert "histogram_quantile(0.5," in latency
    quantiles = {
        float(q) for _, e in dashboard_queries() for q in re.findall(r"histogram_quantile\(([\d.]+)", e)
    }
    assert {0.5, 0.9, 0.99} <= quantiles


@pytest.mark.parametrize(("title", "expr"), dashboard_queries())
def test_dashboard_queries_are_well_formed(title: str, expr: str) -> None:
    assert balanced(expr), f"{title}: unbalanced brackets in {expr}"
    assert metric_names(expr), f"{title}: selects no metric"
    if "_bucket" in expr:
        assert "histogram_quantile(" in expr and "le" in expr


def test_promql_reader() -> None:
    expr = (
        "histogram_quantile(0.99, sum by (le, route) (rate(vomid_http_request_seconds_bucket"
        '{instance=~"$instance", route="/x"}[$__rate_interval]))) / on (instance) up{job="vomid"}'
    )
    assert metric_names(expr) == {"vomid_http_request_seconds_bucket", "up"}
    assert balanced(expr) and not balanced("sum(rate(x[5m])")
