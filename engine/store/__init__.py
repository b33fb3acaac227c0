"""Encrypted voiceprint store: SQLite or PostgreSQL, envelope encryption, audit chain, API keys.

``VoiceprintStore`` implements :class:`engine.gallery.Gallery`, so the engine facade uses it unchanged.
"""

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
