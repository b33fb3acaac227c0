"""packaging/site/: HAProxy accepts both configurations with the certificates make-certs.sh writes, the compose
file wires PostgreSQL, two site nodes, HAProxy, Prometheus and Grafana together, and the systemd unit is valid."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from app.commands.haproxy import haproxy_binary, haproxy_config
from peer.fingerprints import fingerprint_of_pem

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "packaging" / "site"
CERTS_AT = "/etc/haproxy/vomid"


def _certs(out: Path, *args: str) -> str:
    done = subprocess.run(["bash", str(SITE / "make-certs.sh"), "--out", str(out), *args], capture_output=True,
                          text=True, timeout=120, check=True)
    return done.stdout


def _haproxy_check(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([haproxy_binary(), "-c", "-f", str(config)], capture_output=True, text=True, timeout=60,
                          check=False)


@pytest.mark.parametrize(("config", "mode"), [("haproxy.cfg", []), ("haproxy-passthrough.cfg", ["--passthrough"])])
def test_haproxy_accepts_the_site_configuration(tmp_path: Path, config: str, mode: list[str]) -> None:
    certs = tmp_path / "vomid"
    printed = _certs(certs, *mode)
    assert f"sha256 {fingerprint_of_pem((certs / 'site-cert.pem').read_bytes())}" in printed, \
        "make-certs.sh prints the fingerprint clients pin"
    text = (SITE / config).read_text().replace(CERTS_AT, str(certs))
    text = text.replace("/run/haproxy/admin.sock", str(tmp_path / "admin.sock"))
    (tmp_path / config).write_text(text)
    done = _haproxy_check(tmp_path / config)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "GET /ready" in text and "http-check expect status 200" in text


def test_only_the_terminating_balancer_writes_x_forwarded_for() -> None:
    termination = (SITE / "haproxy.cfg").read_text()
    passthrough = (SITE / "haproxy-passthrough.cfg").read_text()
    assert "http-request del-header X-Forwarded-For" in termination and "option forwardfor" in termination
    assert "forwardfor" not in re.sub(r"#.*", "", passthrough) and "mode tcp" in passthrough


def test_pass_through_gives_every_node_the_one_site_certificate(tmp_path: Path) -> None:
    _certs(tmp_path, "--passthrough", "--nodes", "3")
    site = fingerprint_of_pem((tmp_path / "site-cert.pem").read_bytes())
    for i in (1, 2, 3):
        assert fingerprint_of_pem((tmp_path / f"node-{i}" / "node-cert.pem").read_bytes()) == site
        assert stat.S_IMODE((tmp_path / f"node-{i}" / "node-key.pem").stat().st_mode) == 0o600
    _certs(tmp_path / "term")
    own = {fingerprint_of_pem((tmp_path / "term" / f"node-{i}" / "node-cert.pem").read_bytes()) for i in (1, 2)}
    assert len(own) == 2 and site not in own


def test_the_bench_configuration_is_accepted_too(tmp_path: Path) -> None:
    _certs(tmp_path)
    (tmp_path / "site-both.pem").write_bytes((tmp_path / "site.pem").read_bytes())
    cfg = tmp_path / "bench.cfg"
    cfg.write_text(haproxy_config(bind="127.0.0.1:18443", site_pem=tmp_path / "site-both.pem",
                                  servers=[(f"site-{i}", f"127.0.0.{2 + i}:8443",
                                            tmp_path / f"node-{i + 1}" / "node-cert.pem") for i in range(2)],
                                  stats_socket=tmp_path / "s.sock", metrics_bind="127.0.0.1:18405"))
    done = _haproxy_check(cfg)
    assert done.returncode == 0, done.stdout + done.stderr


def test_compose_wires_database_nodes_balancer_and_monitoring() -> None:
    compose = yaml.safe_load((SITE / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "node-1", "node-2", "haproxy", "prometheus", "grafana"} <= services.keys()
    balancer_ip = services["haproxy"]["networks"]["site"]["ipv4_address"]
    config = (SITE / "haproxy.cfg").read_text()
    for name in ("node-1", "node-2"):
        env = services[name]["environment"]
        assert env["VOMID_SITE_MODE"] == "true" and env["VOMID_STORE_URL"].startswith("postgresql")
        assert env["VOMID_TRUSTED_PROXIES"] == balancer_ip, "nodes trust the balancer and nothing else"
        assert env["VOMID_NODE_ID"] == name
        assert f"server {name} {name}:8443" in config
        assert f"./secrets/{name}:/data/tls:ro" in services[name]["volumes"]
    for volume in services["grafana"]["volumes"]:
        source = volume.split(":")[0]
        if source.startswith("."):
            assert (SITE / source).exists(), f"grafana mounts {source}, which is not in the repository"
    prometheus = yaml.safe_load((SITE / "prometheus.yml").read_text())
    targets = [t for job in prometheus["scrape_configs"] for group in job["static_configs"] for t in group["targets"]]
    assert {"node-1:8443", "node-2:8443", "haproxy:8405"} <= set(targets)


def test_site_unit_passes_systemd_analyze(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: run scripts/install-test-tools.sh (make test does)"
    stub = tmp_path / "vomid"
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(stub.stat().st_mode | stat.S_IXUSR)
    env_file = tmp_path / "site.env"
    env_file.write_text((SITE / "site.env.example").read_text())
    unit = tmp_path / "vomid-site-node.service"
    text = (SITE / "vomid-site-node.service").read_text()
    assert "Environment=VOMID_SITE_MODE=true" in text and "EnvironmentFile=/etc/vomid/site.env" in text
    unit.write_text(text.replace("/opt/edge-vomid/vomid ", f"{stub} ").replace("/etc/vomid/site.env", str(env_file)))
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "SYSTEMD_LOG_LEVEL": "warning"})
    problems = [line for line in (done.stdout + done.stderr).splitlines()
                if "vomid-site-node.service" in line and "Documentation" not in line]
    assert done.returncode == 0 and not problems, done.stdout + done.stderr
