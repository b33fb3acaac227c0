"""HAProxy for a site: find the binary, write the balancer's configuration, read its stats socket."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

HAPROXY_HINT = ("haproxy not found; install it with `bash scripts/install-test-tools.sh` "
                "(Debian/Ubuntu: apt-get install haproxy)")


def haproxy_binary() -> str:
    """Path of haproxy (PATH or /usr/sbin), or exit saying how to install it."""
    found = shutil.which("haproxy") or next((p for p in ("/usr/sbin/haproxy",) if os.access(p, os.X_OK)), None)
    if found is None:
        raise SystemExit(f"bench site: {HAPROXY_HINT}")
    return found


def haproxy_config(*, bind: str, site_pem: Path, servers: list[tuple[str, str, Path]], stats_socket: Path,
                   metrics_bind: str | None = None) -> str:
    """The balancer's configuration: TLS termination, health checks on /ready, re-encryption to the nodes.

    packaging/site/haproxy.cfg is the same configuration for an operator. ``servers``: (name, host:port, the node's
    own certificate). Each node's self-signed certificate is its server's only trust anchor: the nodes' certificates
    share one subject name, so a single CA file of all of them would make OpenSSL try the wrong one.
    """
    lines = [
        "global",
        f"    stats socket {stats_socket} mode 600 level admin",
        "    maxconn 1024",
        "    # a verify carries seconds of audio: the whole request must fit in one buffer to be retried elsewhere",
        "    tune.bufsize 524288",
        "    ssl-default-bind-options ssl-min-ver TLSv1.2",
        "",
        "defaults",
        "    mode http",
        "    timeout connect 2s",
        "    timeout client 60s",
        "    timeout server 60s",
        "    timeout http-request 30s",
        "    option http-buffer-request",
        "    retries 3",
        "    option redispatch 1",
        "    retry-on conn-failure empty-response junk-response response-timeout",
        "",
        "frontend site",
        f"    bind {bind} ssl crt {site_pem} alpn http/1.1",
        "    http-request del-header X-Forwarded-For",
        "    option forwardfor",
        "    http-request set-header X-Forwarded-Proto https",
        "    default_backend nodes",
        "",
        "backend nodes",
        "    balance leastconn",
        "    option httpchk GET /ready",
        "    http-check expect status 200",
        ("    default-server check inter 500ms fall 2 rise 2 ssl verify required observe layer4 error-limit 1 "
        "on-error mark-down"),
    ]
    lines += [f"    server {name} {address} ca-file {cert}" for name, address, cert in servers]
    if metrics_bind:
        lines += ["", "frontend metrics", f"    bind {metrics_bind}",
                  "    http-request use-service prometheus-exporter if { path /metrics }"]
    return "\n".join(lines) + "\n"


def haproxy_stats(stats_socket: Path) -> list[dict[str, str]]:
    """The rows of ``show stat`` (one per frontend, backend and server) as dicts keyed by column name."""
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(stats_socket))
        s.sendall(b"show stat\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    lines = data.decode().splitlines()
    head = lines[0].lstrip("# ").split(",")
    return [dict(zip(head, line.split(","), strict=False)) for line in lines[1:] if line]
