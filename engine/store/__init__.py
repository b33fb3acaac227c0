"""Encrypted voiceprint store: SQLite or PostgreSQL, envelope encryption, audit chain, API keys.

``VoiceprintStore`` implements :class:`engine.gallery.Gallery`, so the engine facade uses it unchanged.
The public API is re-exported lazily (as ``engine`` does), so that ``import engine.store.errors``, which
the node's Python client needs, loads without SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.store.apikeys import SCOPES, ApiKeyRecord
    from engine.store.audit import AuditProblem, AuditReport
    from engine.store.errors import (
        BackupError,
        BackupIntegrityError,
        DataKeyShreddedError,
        MasterKeyError,
        MasterKeyMissingError,
        MasterKeyUnavailableError,
        RecordDecryptError,
        StoreError,
        UnknownSpeakerIdError,
        WrongMasterKeyError,
    )
    from engine.store.keys import (
        KeyFileProvider,
        KeyringProvider,
        MasterKeyProvider,
        PassphraseProvider,
        provider_from_settings,
    )
    from engine.store.records import STATUSES, SpeakerRecord
    from engine.store.repository import VoiceprintStore
    from engine.store.schema import default_data_dir

_EXPORTS = {
    "SCOPES": "engine.store.apikeys",
    "ApiKeyRecord": "engine.store.apikeys",
    "AuditProblem": "engine.store.audit",
    "AuditReport": "engine.store.audit",
    "BackupError": "engine.store.errors",
    "BackupIntegrityError": "engine.store.errors",
    "DataKeyShreddedError": "engine.store.errors",
    "MasterKeyError": "engine.store.errors",
    "MasterKeyMissingError": "engine.store.errors",
    "MasterKeyUnavailableError": "engine.store.errors",
    "RecordDecryptError": "engine.store.errors",
    "StoreError": "engine.store.errors",
    "UnknownSpeakerIdError": "engine.store.errors",
    "WrongMasterKeyError": "engine.store.errors",
    "KeyFileProvider": "engine.store.keys",
    "KeyringProvider": "engine.store.keys",
    "MasterKeyProvider": "engine.store.keys",
    "PassphraseProvider": "engine.store.keys",
    "provider_from_settings": "engine.store.keys",
    "STATUSES": "engine.store.records",
    "SpeakerRecord": "engine.store.records",
    "VoiceprintStore": "engine.store.repository",
    "default_data_dir": "engine.store.schema",
}

__all__ = [
    "SCOPES",
    "STATUSES",
    "ApiKeyRecord",
    "AuditProblem",
    "AuditReport",
    "BackupError",
    "BackupIntegrityError",
    "DataKeyShreddedError",
    "KeyFileProvider",
    "KeyringProvider",
    "MasterKeyError",
    "MasterKeyMissingError",
    "MasterKeyProvider",
    "MasterKeyUnavailableError",
    "PassphraseProvider",
    "RecordDecryptError",
    "SpeakerRecord",
    "StoreError",
    "UnknownSpeakerIdError",
    "VoiceprintStore",
    "WrongMasterKeyError",
    "default_data_dir",
    "provider_from_settings",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'engine.store' has no attribute {name!r}")
