"""Where the master key comes from: the OS keyring, a 0600 key file, or a passphrase (scrypt).

Settings choose the source with :func:`provider_from_settings`. A provider never invents a key for
an existing store: ``create=True`` is passed only when a new store is initialised.
"""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from engine.atomic import atomic_write_bytes, replace_durably
from engine.store.crypto import KEY_BYTES, new_key
from engine.store.errors import MasterKeyMissingError, MasterKeyUnavailableError

KEY_FILE_NAME = "master.key"
KEY_FILE_HEADER = "edge-vomid master key v1"
KEYRING_SERVICE = "edge-vomid"
LEGACY_KEYRING_USER = "master-key"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1


class MasterKeyProvider(Protocol):
    """A source of the 32-byte master key."""

    def load(self, salt: bytes, *, create: bool) -> bytes:
        """Return the master key; ``salt`` is the store's public KDF salt; create only for a new store."""
        ...

    def describe(self) -> str:
        """Where the key lives, for messages (never the key itself)."""
        ...


def _encode(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


def _decode(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except ValueError as exc:
        raise MasterKeyUnavailableError(f"{where} does not hold a valid master key") from exc
    if len(key) != KEY_BYTES:
        raise MasterKeyUnavailableError(f"{where} does not hold a 256-bit master key")
    return key


class KeyFileProvider:
    """A random master key in a file readable only by its owner (mode 0600)."""

    kind = "file"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def describe(self) -> str:
        return f"key file {self.path}"

    def load(self, salt: bytes, *, create: bool) -> bytes:
        if not self.path.exists():
            if not create:
                raise MasterKeyMissingError(
                    f"master key file {self.path} not found: the store cannot be opened without it "
                    "(restore the key file from where you keep it, or point --data-dir at the right folder)"
                )
            return self._create()
        mode = stat.S_IMODE(self.path.stat().st_mode)
        if os.name == "posix" and mode & 0o077:
            raise MasterKeyUnavailableError(
                f"master key file {self.path} is accessible by other users (mode {mode:04o}); "
                f"run: chmod 600 {self.path}"
            )
        lines = self.path.read_text(encoding="ascii").splitlines()
        if len(lines) < 2 or lines[0] != KEY_FILE_HEADER:
            raise MasterKeyUnavailableError(f"{self.path} is not an edge-vomid master key file")
        return _decode(lines[1], str(self.path))

    def _create(self) -> bytes:
        """Write a new key file atomically; when another opener won the race, use the key it wrote."""
        key = new_key()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            atomic_write_bytes(self.path, f"{KEY_FILE_HEADER}\n{_encode(key)}\n".encode("ascii"), replace=False)
        except FileExistsError:
            return self.load(b"", create=False)
        return key

    def next_provider(self) -> KeyFileProvider:
        """Where a rotation writes the new key before it replaces this file."""
        return KeyFileProvider(self.path.with_name(self.path.name + ".next"))

    def discard(self) -> None:
        """Remove a key file left by a rotation that never reached the database."""
        self.path.unlink(missing_ok=True)

    def adopt(self, new: KeyFileProvider) -> None:
        """Finish a rotation: the new key file replaces this one atomically."""
        replace_durably(new.path, self.path)


class PassphraseProvider:
    """A master key derived from a passphrase with scrypt and the store's salt (headless nodes)."""

    kind = "passphrase"

    def __init__(self, passphrase: str) -> None:
        if len(passphrase) < 8:
            raise MasterKeyUnavailableError("the store passphrase must be at least 8 characters")
        self._passphrase = passphrase.encode("utf-8")

    def describe(self) -> str:
        return "passphrase"

    def load(self, salt: bytes, *, create: bool) -> bytes:
        kdf = Scrypt(salt=salt, length=KEY_BYTES, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
        return kdf.derive(self._passphrase)


class KeyringProvider:
    """A random master key kept in the OS keyring (or any keyring backend passed in).

    ``legacy_username``: an entry an existing store may use instead (stores made before entries were per
    data directory all used ``master-key``); a new store always gets its own ``username``.
    """

    kind = "keyring"

    def __init__(
        self, username: str = LEGACY_KEYRING_USER, *, service: str = KEYRING_SERVICE, backend: Any = None,
        legacy_username: str | None = None,
    ) -> None:
        self.username = username
        self.service = service
        self._backend = backend
        self.legacy_username = legacy_username

    def describe(self) -> str:
        return f"keyring entry {self.service}/{self.username}"

    def _ring(self) -> Any:
        if self._backend is not None:
            return self._backend
        import keyring
        from keyring.backends import fail

        ring = keyring.get_keyring()
        if isinstance(ring, fail.Keyring):
            raise MasterKeyUnavailableError(
                "no OS keyring on this machine; set the key source to 'file' or 'passphrase'"
            )
        return ring

    def load(self, salt: bytes, *, create: bool) -> bytes:
        ring = self._ring()
        text = ring.get_password(self.service, self.username)
        if text is None and not create and self.legacy_username:
            text = ring.get_password(self.service, self.legacy_username)
            if text is not None:
                self.username = self.legacy_username  # rotations replace the entry this store uses
        if text is None:
            if not create:
                raise MasterKeyMissingError(f"{self.describe()} holds no master key")
            key = new_key()
            ring.set_password(self.service, self.username, _encode(key))
            return key
        return _decode(text, self.describe())

    def next_provider(self) -> KeyringProvider:
        """Where a rotation stores the new key before it replaces this entry."""
        return KeyringProvider(self.username + ".next", service=self.service, backend=self._backend)

    def discard(self) -> None:
        """Remove an entry left by a rotation that never reached the database."""
        ring = self._ring()
        if ring.get_password(self.service, self.username) is not None:
            ring.delete_password(self.service, self.username)

    def adopt(self, new: KeyringProvider) -> None:
        """Finish a rotation: the new entry's key replaces this entry's."""
        ring = self._ring()
        text = ring.get_password(new.service, new.username)
        if text is None:
            raise MasterKeyMissingError(f"{new.describe()} holds no master key")
        ring.set_password(self.service, self.username, text)
        ring.delete_password(new.service, new.username)


def provider_from_settings(
    source: str, data_dir: str | Path, *, passphrase: str | None = None, key_file: str | Path | None = None
) -> MasterKeyProvider:
    """Build the provider that settings name: ``keyring``, ``file`` or ``passphrase``.

    Parameters
    ----------
    source:
        ``keyring`` (OS keyring, one entry per data directory), ``file`` (``master.key`` in the data dir unless ``key_file``) or ``passphrase``.
    data_dir:
        The store's data directory.
    passphrase:
        Required for ``passphrase``.
    key_file:
        Overrides the key file path for ``file``.

    Returns
    -------
    MasterKeyProvider
        The provider; nothing is read until the store opens.
    """
    if source == "file":
        return KeyFileProvider(Path(key_file) if key_file else Path(data_dir) / KEY_FILE_NAME)
    if source == "passphrase":
        if not passphrase:
            raise MasterKeyUnavailableError(
                "key source 'passphrase' needs a passphrase (VOMID_MASTER_KEY_PASSPHRASE)"
            )
        return PassphraseProvider(passphrase)
    if source == "keyring":
        return KeyringProvider(keyring_username(data_dir), legacy_username=LEGACY_KEYRING_USER)
    raise MasterKeyUnavailableError(f"unknown master key source {source!r}; use keyring, file or passphrase")


def keyring_username(data_dir: str | Path) -> str:
    """The keyring entry of the store in ``data_dir``: one per data directory, so two stores never share a key."""
    return f"{LEGACY_KEYRING_USER}:{Path(data_dir).expanduser().resolve()}"
