"""Replication between members: push new local writes at once, and heal the rest by anti-entropy on digests.

The store does the merging (last writer wins by hybrid logical clock); this module only moves records.
Push: a thread notices local writes (records this node wrote after the last pushed HLC) and sends them to
every peer that is up. Anti-entropy: every few seconds the digests of each peer are compared with ours;
where they differ, this node lists the clocks of the peer's records after the newest HLC pulled from that peer
(from the start when that brought nothing new for a few rounds yet they still differ), and fetches only the
records it lacks or holds older. Each side pulls, so two nodes heal both ways.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import httpx

from engine.store.replication import ClockEntry, ReplicaRecord
from peer import const
from peer.discovery import Peer
from peer.errors import ScopeError

log = logging.getLogger(__name__)


class ReplicatedStore(Protocol):
    """The store's replication primitives."""

    node_id: str

    def changes_since(self, after: str | None, transport_key: bytes, *, limit: int = 1000,
                      api_key_writers: frozenset[str] | None = None) -> list[ReplicaRecord]:
        """Records written after an HLC."""
        ...

    def apply_changes(self, records: list[ReplicaRecord], transport_key: bytes, *, actor: str) -> int:
        """Merge records; how many changed."""
        ...

    def digest(self, *, api_key_writers: frozenset[str] | None = None) -> dict[str, dict[str, Any]]:
        """Per kind: count, newest HLC, hash."""
        ...

    def clocks_since(self, after: str | None, *, limit: int = 5000,
                     api_key_writers: frozenset[str] | None = None) -> list[ClockEntry]:
        """Kind, key and HLC of records written after an HLC."""
        ...

    def newer_than_held(self, entries: list[ClockEntry]) -> list[ClockEntry]:
        """Entries missing or older here."""
        ...

    def records_for(self, keys: list[tuple[str, tuple[str, ...]]], transport_key: bytes, *,
                    api_key_writers: frozenset[str] | None = None) -> list[ReplicaRecord]:
        """Current records of these keys."""
        ...


def next_cursor(page: list[ReplicaRecord] | list[ClockEntry], limit: int) -> str | None:
    """Where the next page starts: records sharing the last HLC of a full page may have been cut off."""
    if not page:
        return None
    last = page[-1].hlc
    if len(page) < limit:
        return last
    earlier = [r.hlc for r in page if r.hlc < last]
    return earlier[-1] if earlier else last


class NotEntitledError(ScopeError):
    """A member sent records it may not write: API keys from a node other than the admin node (403)."""

    code = "not_entitled"


class Replicator:
    """Push and anti-entropy threads over a store and a source of up peers.

    API keys grant access on every member, so their records move only from the node that may write them:
    ``api_key_writers()`` names those nodes (the admin node; None: any, for a cluster without a roster). Such a
    record is accepted only from that node itself (the sender proved its identity with its certificate), never
    relayed; keys made on any other node stay on it, and every export and digest leaves them out.
    """

    def __init__(self, store: ReplicatedStore, transport_key: bytes, client: httpx.Client,
                 peers: Callable[[], list[Peer]], *, blocked: Callable[[str], bool] = lambda node_id: False,
                 api_key_writers: Callable[[], frozenset[str] | None] = lambda: None) -> None:
        self.store = store
        self.api_key_writers = api_key_writers
        self._key = transport_key
        self._http = client
        self._peers = peers
        self._blocked = blocked
        self._pushed: str | None = None
        self._pulled: dict[str, str | None] = {}
        self._stale: dict[str, int] = {}  # anti-entropy rounds with a peer that differed but brought nothing new
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._ae_wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self.pushed_records = 0
        self.pulled_records = 0

    def start(self) -> None:
        """Start the push and anti-entropy threads; local history is counted as already pushed."""
        tops = [d["max_hlc"] for d in self.digest().values() if d["max_hlc"]]
        self._pushed = max(tops) if tops else None
        for target, name in ((self._push_loop, "vomid-repl-push"), (self._ae_loop, "vomid-repl-ae")):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        """Stop both threads."""
        self._stop.set()
        self._wake.set()
        self._ae_wake.set()
        for t in self._threads:
            t.join(15)

    def notify(self) -> None:
        """A local write happened: push now."""
        self._wake.set()

    def kick(self) -> None:
        """A peer came (back) up: compare digests now rather than at the next interval."""
        self._ae_wake.set()

    # -- inbound (called by the cluster routes) ----------------------------------------------
    def apply(self, records: list[dict[str, Any]], sender: str, *, strict: bool = True) -> int:
        """Merge records a peer sent; NotEntitledError (``strict``) or a skip for those it may not write."""
        parsed = [ReplicaRecord.from_json(r) for r in records]
        allowed = [r for r in parsed if self._entitled(r, sender)]
        if len(allowed) < len(parsed):
            if strict:
                raise NotEntitledError(f"{sender} may not write API keys: they replicate from the admin node only")
            log.warning("skipped %d API key records %s may not write", len(parsed) - len(allowed), sender)
        return self.store.apply_changes(allowed, self._key, actor=f"peer:{sender}") if allowed else 0

    def _entitled(self, record: ReplicaRecord, sender: str) -> bool:
        writers = self.api_key_writers()
        return record.kind != "api_key" or writers is None or (sender in writers and record.writer_node == sender)

    def digest(self) -> dict[str, dict[str, Any]]:
        """This store's digest as members compare it (API keys: those of the entitled writers only)."""
        return self.store.digest(api_key_writers=self.api_key_writers())

    def clocks(self, after: str | None, limit: int) -> list[list[Any]]:
        """A page of (kind, key, HLC) for a peer that pulls."""
        return [e.to_json() for e in self.store.clocks_since(after, limit=limit,
                                                             api_key_writers=self.api_key_writers())]

    def records(self, keys: list[tuple[str, list[str]]]) -> list[dict[str, Any]]:
        """The current records of the keys a peer asked for."""
        wanted = [(kind, tuple(key)) for kind, key in keys]
        return [r.to_json() for r in self.store.records_for(wanted, self._key, api_key_writers=self.api_key_writers())]

    # -- push --------------------------------------------------------------------------------
    def _push_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(const.PUSH_INTERVAL_S)
            self._wake.clear()
            try:
                self.push_once()
            except Exception:
                log.exception("push failed")

    def push_once(self) -> int:
        """Send local writes after the last pushed HLC to every up peer (they are healed later if this fails)."""
        page = self.store.changes_since(self._pushed, self._key, limit=const.PUSH_PAGE,
                                        api_key_writers=self.api_key_writers())
        if not page:
            return 0
        cursor = next_cursor(page, const.PUSH_PAGE)
        mine = [r.to_json() for r in page if r.writer_node == self.store.node_id]
        if mine:
            for peer in self._targets():
                try:
                    self._http.post(f"{peer.url}/api/v1/cluster/replicate", json={"records": mine},
                                    timeout=const.HEALTH_TIMEOUT_S * 5).raise_for_status()
                except httpx.HTTPError as exc:
                    log.info("push to %s failed (%s); anti-entropy will heal it", peer.node_id, exc)
        self._pushed = cursor
        self.pushed_records += len(mine)
        return len(mine)

    def _targets(self) -> list[Peer]:
        return [p for p in self._peers() if not self._blocked(p.node_id)]

    # -- anti-entropy ------------------------------------------------------------------------
    def _ae_loop(self) -> None:
        while not self._stop.is_set():
            self._ae_wake.wait(const.ANTI_ENTROPY_INTERVAL_S)
            self._ae_wake.clear()
            if self._stop.is_set():
                return
            try:
                self.anti_entropy_once()
            except Exception:
                log.exception("anti-entropy failed")

    def anti_entropy_once(self) -> int:
        """Compare digests with every up peer and pull what differs; returns records applied."""
        applied = 0
        for peer in self._targets():
            if self._stop.is_set():
                break
            try:
                applied += self.sync_with(peer)
            except httpx.HTTPError as exc:
                log.info("anti-entropy with %s failed: %s", peer.node_id, exc)
        return applied

    def sync_with(self, peer: Peer) -> int:
        """Pull from one peer until the digests agree (from our cursor first, then everything)."""
        theirs = self._http.get(f"{peer.url}/api/v1/cluster/digest", timeout=const.HEALTH_TIMEOUT_S * 5).json()
        if theirs == self.digest():
            return 0
        cursor = self._pulled.get(peer.node_id)
        applied = self._pull(peer, cursor)
        if applied or cursor is None:
            self._stale[peer.node_id] = 0
            return applied
        # nothing new after the cursor, yet the digests differ: records older than it (relayed to the peer by a
        # third node, or ours it lacks) -- the peer pulls ours itself; pull all of its when this persists
        self._stale[peer.node_id] = self._stale.get(peer.node_id, 0) + 1
        if self._stale[peer.node_id] >= const.FULL_PULL_AFTER_ROUNDS and self._differs(peer):
            self._stale[peer.node_id] = 0
            applied += self._pull(peer, None)
        return applied

    def _differs(self, peer: Peer) -> bool:
        theirs = self._http.get(f"{peer.url}/api/v1/cluster/digest", timeout=const.HEALTH_TIMEOUT_S * 5).json()
        return bool(theirs != self.digest())

    def _pull(self, peer: Peer, after: str | None) -> int:
        applied, deadline = 0, time.monotonic() + 300
        while not self._stop.is_set() and time.monotonic() < deadline:
            params: dict[str, str | int] = {"limit": const.CLOCKS_PAGE, **({"after": after} if after else {})}
            r = self._http.get(f"{peer.url}/api/v1/cluster/clocks", params=params, timeout=60)
            r.raise_for_status()
            entries = [ClockEntry.from_json(e) for e in r.json()["entries"]]
            applied += self._fetch(peer, self.store.newer_than_held(entries))
            cursor = next_cursor(entries, const.CLOCKS_PAGE)
            if cursor is not None:
                self._pulled[peer.node_id] = max(cursor, self._pulled.get(peer.node_id) or "")
            if len(entries) < const.CLOCKS_PAGE or cursor == after:
                break
            after = cursor
        return applied

    def _fetch(self, peer: Peer, wanted: list[ClockEntry]) -> int:
        """Fetch and apply the records of ``wanted`` from a peer, a page at a time."""
        applied = 0
        for start in range(0, len(wanted), const.REPLICATION_PAGE):
            keys = [[e.kind, list(e.key)] for e in wanted[start : start + const.REPLICATION_PAGE]]
            r = self._http.post(f"{peer.url}/api/v1/cluster/records", json={"keys": keys}, timeout=60)
            r.raise_for_status()
            records = r.json()["records"]
            applied += self.apply(records, peer.node_id, strict=False)  # a relayed API key is skipped
            self.pulled_records += len(records)
        return applied
