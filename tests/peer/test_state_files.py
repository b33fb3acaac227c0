"""The cluster's secrets and state files and the node's TLS files: private modes, and replaced whole or not at all.

Each scenario runs in a child process: with umask 0, so a mode that is not set on purpose shows; or with a
file-size limit (RLIMIT_FSIZE) set after its imports, so a real write fails partway (EFBIG).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from peer.membership import Membership, init_cluster

REPO = Path(__file__).resolve().parents[2]
SECRETS = ("ca-key.pem", "node-key.pem", "cluster.json", "tokens.json")
PUBLIC = ("ca.pem", "node-cert.pem", "crl.pem")


def _child(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, capture_output=True, text=True, timeout=120,
                          check=False)


def _modes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mode & 0o777 for p in folder.iterdir()}


def test_secrets_are_0600_and_certificates_0644_whatever_the_umask(tmp_path: Path) -> None:
    code = """
import os, sys
from pathlib import Path
from peer.membership import init_cluster
from peer.tls import ensure_certificate
from tests.peer.conftest import join_in_process
os.umask(0)
root = Path(sys.argv[1])
a = init_cluster(root / "a", "nodea", ["127.0.0.1"])
join_in_process(a, root / "b", "nodeb")  # a token (tokens.json), then the joined node's folder
a.revoke(["nodex"])  # new state and CRL
ensure_certificate(root / "tls")
"""
    done = _child(code, str(tmp_path))
    assert done.returncode == 0, done.stderr
    expected = {**dict.fromkeys(SECRETS, 0o600), **dict.fromkeys(PUBLIC, 0o644)}
    assert _modes(tmp_path / "a") == expected
    assert _modes(tmp_path / "b") == {name: mode for name, mode in expected.items() if name != "tokens.json"}
    assert _modes(tmp_path / "tls") == {"node-key.pem": 0o600, "node-cert.pem": 0o644}


def test_a_state_write_that_fails_partway_keeps_the_previous_state_and_crl(tmp_path: Path) -> None:
    init_cluster(tmp_path / "a", "nodea", ["127.0.0.1"])
    before = {name: (tmp_path / "a" / name).read_bytes() for name in ("cluster.json", "crl.pem")}
    code = """
import resource, sys
from pathlib import Path
from peer.membership import Membership
member = Membership(Path(sys.argv[1]))
resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))  # cluster.json is longer: its write fails partway
member.revoke(["nodeb"])
"""
    done = _child(code, str(tmp_path / "a"))
    assert done.returncode == 1 and "File too large" in done.stderr, done.stderr
    assert {name: (tmp_path / "a" / name).read_bytes() for name in before} == before
    assert not [p.name for p in (tmp_path / "a").iterdir() if p.name.endswith(".partial")]
    assert json.loads(before["cluster.json"])["revoked"] == []
    assert Membership(tmp_path / "a").revoked == set()  # still opens: the whole old state


def test_a_tls_key_whose_write_failed_leaves_nothing_and_is_made_next_time(tmp_path: Path) -> None:
    code = """
import resource, sys
from pathlib import Path
from peer.tls import ensure_certificate
resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))  # a PEM key is longer
ensure_certificate(Path(sys.argv[1]))
"""
    done = _child(code, str(tmp_path / "tls"))
    assert done.returncode == 1 and "File too large" in done.stderr, done.stderr
    assert _modes(tmp_path / "tls") == {}  # no half key that a later start would take for a key
    from peer.tls import ensure_certificate

    made = ensure_certificate(tmp_path / "tls")
    assert made.key_path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
