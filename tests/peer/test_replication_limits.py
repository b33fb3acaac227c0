"""A full replication page fits the body limits of the routes that carry it."""

from __future__ import annotations

import json

from engine.store.replica import ClockEntry
from peer import const
from peer.api.middleware import body_limit


def test_a_full_fetch_page_of_the_longest_keys_fits_the_records_route() -> None:
    # the longest keys the store accepts: 128-character speaker ids, 64-character model ids
    entries = [ClockEntry("voiceprint", (f"{i:0128d}", "m" * 64), "0" * 40) for i in range(const.REPLICATION_PAGE)]
    body = json.dumps({"keys": [[e.kind, list(e.key)] for e in entries]}).encode()
    assert len(body) > 64 * 1024  # control: bigger than the small limit other routes get
    assert len(body) < body_limit("/api/v1/cluster/records")


def test_small_routes_keep_the_small_limit() -> None:
    assert body_limit("/api/v1/cluster/ping") < body_limit("/api/v1/cluster/records")
