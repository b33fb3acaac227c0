"""The node as `vomid serve` and the kiosk run it, built from settings."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from app.node_runtime import NodeRuntime
from app.settings import SettingsError, load_settings
from engine.store import KeyFileProvider, VoiceprintStore


def _auth_failure_actors(settings_env: pytest.MonkeyPatch, tmp_path: Path, proxies: str | None) -> set[str]:
    if proxies is not None:
        settings_env.setenv("VOMID_TRUSTED_PROXIES", proxies)
    settings = load_settings(node_host="127.0.0.1", node_tls=False)
    tmp_path.mkdir()
    store = VoiceprintStore.open(tmp_path / "store.db", KeyFileProvider(tmp_path / "master.key"))
    runtime = NodeRuntime(settings, store, port=0)
    try:
        runtime.start()
        assert runtime.url is not None and runtime.fault is None, runtime.fault
        httpx.get(f"{runtime.url}/api/v1/voiceprints", headers={"X-API-Key": "guess", "X-Forwarded-For": "10.9.9.9"})
        return {e["actor"] for e in store.audit_entries() if e["event"] == "auth_failed"}
    finally:
        runtime.stop()
        store.close()


def test_forwarded_addresses_are_believed_only_from_the_configured_trusted_proxies(
    settings_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert _auth_failure_actors(settings_env, tmp_path / "default", None) == {"addr:127.0.0.1"}
    assert _auth_failure_actors(settings_env, tmp_path / "proxied", "127.0.0.1, 10.0.0.0/8") == {"addr:10.9.9.9"}


def test_a_trusted_proxy_that_is_not_an_address_is_refused(settings_env: pytest.MonkeyPatch) -> None:
    settings_env.setenv("VOMID_TRUSTED_PROXIES", "*")
    with pytest.raises(SettingsError, match="trusted_proxies"):
        load_settings()


def test_the_default_rate_limit_has_one_source(settings_env: pytest.MonkeyPatch) -> None:
    """`vomid serve` and a node built without settings (tests, embedding apps) limit a key the same way."""
    from app.node_runtime import node_limits
    from peer.node import NodeLimits

    served, bare = node_limits(load_settings()).resolved(), NodeLimits().resolved()
    assert (served.rate_per_s, served.burst) == (bare.rate_per_s, bare.burst)
