"""The envelope's binding: a sealed value opens only with its key and for what it was sealed as (kind, speaker,
model, store, owner); its header, size and key check are exact, and every refusal is OpenFailed with its reason."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from engine.store.crypto import (
    FORMAT_VERSION,
    KEY_BYTES,
    NONCE_BYTES,
    DataKeyCache,
    MasterKey,
    OpenFailed,
    dek_aad,
    derive,
    field_aad,
    key_id,
    new_key,
    open_sealed,
    seal,
)

MASTER = bytes(range(32))


def test_associated_data_names_what_a_value_is() -> None:
    assert field_aad("mean", "alice", "ge2e") == b"vomid/mean/v1|alice|ge2e"
    assert dek_aad("store-1", "alice") == b"vomid/dek/v1|store-1|alice"


def test_a_sealed_value_is_version_nonce_ciphertext_and_tag_and_opens_only_as_itself() -> None:
    aead = AESGCM(new_key())
    sealed = seal(aead, b"voiceprint", field_aad("mean", "alice", "ge2e"))
    assert sealed[0] == FORMAT_VERSION == 1 and len(sealed) == 1 + NONCE_BYTES + len(b"voiceprint") + 16
    assert seal(aead, b"voiceprint", b"x")[1:13] != seal(aead, b"voiceprint", b"x")[1:13]  # a fresh nonce each time
    assert open_sealed(aead, sealed, field_aad("mean", "alice", "ge2e")) == b"voiceprint"
    for aad in (field_aad("takes", "alice", "ge2e"), field_aad("mean", "bob", "ge2e"),
                field_aad("mean", "alice", "campplus-zh-en")):
        with pytest.raises(OpenFailed, match="^authentication failed$"):
            open_sealed(aead, sealed, aad)  # moved to another record: refused
    with pytest.raises(OpenFailed, match="^authentication failed$"):
        open_sealed(AESGCM(new_key()), sealed, field_aad("mean", "alice", "ge2e"))
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(OpenFailed, match="^authentication failed$"):
        open_sealed(aead, tampered, field_aad("mean", "alice", "ge2e"))


def test_values_of_an_unknown_format_or_too_short_are_refused_before_decrypting() -> None:
    aead = AESGCM(new_key())
    empty = seal(aead, b"", b"a")
    assert len(empty) == 1 + NONCE_BYTES + 16 and open_sealed(aead, empty, b"a") == b""  # the shortest value
    for bad in (empty[:-1], bytes([2]) + empty[1:], b""):
        with pytest.raises(OpenFailed, match="^not a sealed value of a known format$"):
            open_sealed(aead, bad, b"a")


def test_keys_are_fresh_random_256_bit_keys() -> None:
    a, b = new_key(), new_key()
    assert len(a) == KEY_BYTES == 32 and a != b


def test_subkeys_and_key_ids_are_fixed_functions_of_the_master_key() -> None:
    assert derive(MASTER, "backup") == derive(MASTER, "backup") != derive(MASTER, "audit")
    assert len(derive(MASTER, "backup")) == 32
    assert derive(MASTER, "backup", b"salt") != derive(MASTER, "backup")
    assert derive(MASTER, "backup", b"") == derive(MASTER, "backup")  # no salt and an empty salt agree
    assert key_id(MASTER) == hmac.new(MASTER, b"edge-vomid key id", hashlib.sha256).hexdigest()[:16]
    master = MasterKey(MASTER)
    assert master.key_id == key_id(MASTER) and master.subkey("backup") == derive(MASTER, "backup")


def test_the_master_key_wraps_data_keys_for_one_owner_and_checks_itself_per_store() -> None:
    master, other = MasterKey(MASTER), MasterKey(bytes(32))
    dek = new_key()
    wrapped = master.wrap(dek, dek_aad("s1", "alice"))
    assert master.unwrap(wrapped, dek_aad("s1", "alice")) == dek
    assert open_sealed(master.raw_aead(), wrapped, dek_aad("s1", "alice")) == dek
    with pytest.raises(OpenFailed):
        master.unwrap(wrapped, dek_aad("s1", "bob"))
    with pytest.raises(OpenFailed):
        other.unwrap(wrapped, dek_aad("s1", "alice"))
    check = master.make_check("s1")
    assert master.matches(check, "s1")
    assert not master.matches(check, "s2") and not other.matches(check, "s1") and not master.matches(b"junk", "s1")
    forged = seal(master.raw_aead(), b"something else", b"vomid/check|s1")  # opens, but is not the check text
    assert not master.matches(forged, "s1")
    assert open_sealed(master.raw_aead(), check, b"vomid/check|s1") == b"edge-vomid master key check v1"


def test_a_master_key_must_be_32_bytes() -> None:
    for size in (31, 33):
        with pytest.raises(ValueError, match="^master key must be 32 bytes$"):
            MasterKey(bytes(size))


def test_the_data_key_cache_holds_ciphers_in_memory_only_until_dropped() -> None:
    cache = DataKeyCache()
    dek = new_key()
    aead = cache.put("alice", dek)
    assert cache.get("alice") is aead and cache.mapping() == {"alice": aead}
    assert open_sealed(aead, seal(AESGCM(dek), b"x", b"a"), b"a") == b"x"
    cache.put("bob", new_key())
    cache.drop("alice")
    cache.drop("nobody")
    assert cache.get("alice") is None and list(cache.mapping()) == ["bob"]
    cache.clear()
    assert cache.mapping() == {}
