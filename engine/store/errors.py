"""Errors raised by the encrypted store: one base class and small leaves."""

from __future__ import annotations

from typing import Any

from engine.errors import VomidError


class StoreError(VomidError):
    """A problem with the voiceprint store."""

    code = "store_error"


class MasterKeyError(StoreError):
    """The master key cannot be obtained or does not fit this store."""

    code = "master_key_error"


class MasterKeyMissingError(MasterKeyError):
    """The master key source holds no key (missing key file, empty keyring entry)."""

    code = "master_key_missing"


class MasterKeyUnavailableError(MasterKeyError):
    """The configured key source cannot be used here (no OS keyring, unsafe key file)."""

    code = "master_key_unavailable"


class WrongMasterKeyError(MasterKeyError):
    """The master key given does not open this store."""

    code = "wrong_master_key"


class RecordDecryptError(StoreError):
    """One record failed to decrypt or authenticate (tampered, copied or shredded); names the record."""

    code = "record_undecryptable"

    def __init__(self, record: str, reason: str, **details: Any) -> None:
        super().__init__(f"{record}: {reason}", details={"record": record, **details})
        self.record = record


class DataKeyShreddedError(RecordDecryptError):
    """The record's data key was destroyed when its speaker was deleted."""

    code = "data_key_shredded"


class UnknownSpeakerIdError(StoreError):
    """No speaker with that id in the store."""

    code = "unknown_speaker"


class InvalidStatusError(StoreError):
    """A speaker status outside active / disabled / locked."""

    code = "invalid_status"


class AuditFieldError(StoreError):
    """An audit field that must never be logged (audio, embeddings, raw bytes) or is not JSON."""

    code = "audit_field_refused"


class BackupError(StoreError):
    """A backup archive cannot be written or read."""

    code = "backup_error"


class BackupIntegrityError(BackupError):
    """The archive failed its integrity check; nothing was restored."""

    code = "backup_integrity"


class SchemaError(StoreError):
    """The database schema is newer than this program or cannot be migrated."""

    code = "schema_error"


class StoreCorruptError(StoreError):
    """The database file is damaged (SQLite's checks failed); the message says how to restore it."""

    code = "store_corrupt"


class SpeakerRowTamperedError(RecordDecryptError):
    """A speaker's name or status was changed outside the app (its row MAC does not match)."""

    code = "speaker_row_tampered"


class InvalidReplicaError(StoreError, ValueError):
    """Records a peer sent that cannot be merged (a clock not in its fixed-width form, or far ahead of ours): refused whole."""

    code = "invalid_replica"
