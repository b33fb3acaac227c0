"""The encrypted voiceprint store: implements :class:`engine.gallery.Gallery` over SQLite or PostgreSQL."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Self

import numpy as np

from engine.gallery import Voiceprint
from engine.store import audit, keystore, row_mac, schema
from engine.store.admin import StoreAdmin
from engine.store.base import Progress
from engine.store.keys import MasterKeyProvider
from engine.store.replication import Replication
from engine.store.speakers import SpeakerAdmin
from engine.store.writes import EnrolmentWrites

log = logging.getLogger(__name__)
UNSEALED_REVISIONS = frozenset({"0001", "0002"})  # schemas before speaker rows had MACs


class VoiceprintStore(EnrolmentWrites, SpeakerAdmin, StoreAdmin, Replication):
    """Encrypted speakers, voiceprints, audit log and API keys, with an in-memory index for 1:N search."""

    integrity = "not checked"  # what SQLite's quick_check said when this store opened ("ok"; PostgreSQL: n/a)

    @classmethod
    def open(
        cls,
        url_or_path: str | Path | None,
        master_key_provider: MasterKeyProvider,
        *,
        node_id: str | None = None,
        shared: bool = False,
        data_dir: str | Path | None = None,
        model_id: str | None = None,
        progress: Progress | None = None,
    ) -> VoiceprintStore:
        """Open (or create) a store and check its master key.

        Parameters
        ----------
        url_or_path:
            A SQLAlchemy URL (``postgresql://...``), a SQLite file path, or None for
            ``store.db`` in ``data_dir`` (default: the per-user data directory).
        master_key_provider:
            Where the master key comes from (:mod:`engine.store.keys`).
        node_id:
            This node's id in replicated records; default: the id the store was created with. A new store
            records it as its own, unless ``shared``.
        shared:
            Many nodes share this database (site mode): each keeps its id itself, the database records none.
        data_dir:
            The data directory when ``url_or_path`` is None.
        model_id:
            Build the 1:N index of this model now (cold start) rather than on first use.
        progress:
            ``progress(step, completed, total)`` while the index is built.

        Returns
        -------
        VoiceprintStore
            The open store.

        Raises
        ------
        MasterKeyMissingError, WrongMasterKeyError, MasterKeyUnavailableError
            The key cannot be had or does not open this store; nothing is written.
        StoreCorruptError
            The SQLite file is damaged (header, or a page SQLite's quick_check finds); says how to restore.
        """
        url = schema.resolve_url(url_or_path, data_dir)
        engine = schema.make_engine(url)
        try:
            integrity = schema.quick_check(engine, url)
            log.info("store %s: quick_check %s", url, integrity)
            before = schema.current_revision(engine)
            if before is None:
                schema.upgrade(engine)  # an empty database: nothing to protect yet
            store = None
            with engine.begin() as conn:
                audit.lock_chain(
                    conn
                )  # two processes creating one store: the second one sees the first's keys
                values = keystore.read_meta(conn)
                if "store_id" not in values:
                    keys = keystore.initialise(conn, master_key_provider, node_id, record_node_id=not shared)
                    store = cls(engine, url, keys, master_key_provider)
                    fields = {"node_id": keys.node_id, "key_id": keys.master.key_id}
                    store._audit(conn, "store_created", "local", fields)
            if store is None:
                keys = keystore.unlock(values, master_key_provider, node_id)
                schema.upgrade(engine)  # only once the key is known to be right
                store = cls(engine, url, keys, master_key_provider)
                if before in UNSEALED_REVISIONS:  # this open added the row MACs: seal the rows it found
                    with store._write() as conn:
                        row_mac.seal(conn, row_mac.row_key(keys.audit_key), unsealed_only=True)
            store.integrity = integrity
            store._observe_stored_clock()
            if model_id is not None:
                store.build_index(model_id, progress)
            return store
        except BaseException:
            engine.dispose()
            raise

    def close(self) -> None:
        """Flush SQLite's log into the database file and release every connection."""
        self._checkpoint()
        self._engine.dispose()
        self._dek.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, speaker_id: str, model_id: str) -> Voiceprint | None:
        """The decrypted voiceprint of an active speaker, or None.

        Raises
        ------
        RecordDecryptError
            The record does not decrypt; the message names it.
        """
        return self._voiceprint(speaker_id, model_id, active_only=True)

    def matrix(self, model_id: str) -> tuple[list[str], np.ndarray]:
        """Active speakers' ids and their ``(n, dim)`` float32 means under ``model_id``, from memory."""
        with self._lock:
            index = self._indexes.get(model_id)
        if index is None:
            index = self.build_index(model_id)
        return index.snapshot()

    def remove(self, speaker_id: str) -> bool:
        """Delete the speaker and crypto-shred its voiceprints; True when it existed."""
        return self.delete_speaker(speaker_id)
