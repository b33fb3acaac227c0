"""Verify-failure lockout: N rejected verifications of one speaker within a window lock the speaker."""

from __future__ import annotations

import logging

from engine.store.errors import StoreError
from peer import const
from peer.ports import NodeStore
from peer.ratelimit import FailureWindow

log = logging.getLogger(__name__)


class Lockout:
    """Counts rejected verifications per speaker and locks the speaker in the store (audited)."""

    def __init__(self, store: NodeStore, *, failures: int | None = None, window_s: float | None = None) -> None:
        self.store = store
        self.window = FailureWindow(failures or const.LOCKOUT_FAILURES, window_s or const.LOCKOUT_WINDOW_S)

    def record(self, speaker_id: str, accepted: bool, *, actor: str) -> bool:
        """Note one verification outcome; True when this rejection locked the speaker."""
        if accepted:
            self.window.reset(speaker_id)
            return False
        count = self.window.add(speaker_id)
        if count < self.window.limit:
            return False
        self.window.reset(speaker_id)
        try:
            self.store.set_status(speaker_id, "locked", actor=actor, reason="verify_failures")
        except StoreError:  # deleted meanwhile: nothing to lock
            return False
        try:
            self.store.audit("login_lockout", actor, speaker_id=speaker_id, failures=count,
                             window_s=self.window.window_s)
        except Exception:
            log.exception("could not audit the lockout of %s", speaker_id)
        return True
