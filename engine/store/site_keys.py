"""Site mode: the master key after `vomid keys rotate` ran on one node of the site.

The rotation re-wraps every data key under the new master key in the shared database and tells every
node's change feed. Each node then reads the new key from its own key source (a key file or keyring
entry the operator updates; a passphrase needs a restart with the new one) and checks it against the
store's key check. Until a node holds the new key it cannot open data keys wrapped since, so its feed
reports it not in step (``/ready`` 503: the balancer sends it nothing) and it tries again; the database
itself refuses a data key wrapped by any key but the store's current one (a trigger), so a node that
has not caught up can never write a record the rest of the site cannot read.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select, text

from engine.store.audit import lock_key
from engine.store.crypto import MasterKey
from engine.store.errors import MasterKeyError
from engine.store.models import meta

if TYPE_CHECKING:
    from engine.store.base import StoreBase

log = logging.getLogger(__name__)

_GUARD = (
    """CREATE OR REPLACE FUNCTION vomid_data_key_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE current text;
BEGIN
  SELECT convert_from(value, 'UTF8') INTO current FROM store_meta WHERE key = 'master_key_id';
  IF current IS NOT NULL AND NEW.master_key_id <> current THEN
    RAISE EXCEPTION 'the data key of % is wrapped by master key id %, but the store''s master key is % '
      '(rotated on another node): this node needs the new key from its key source', NEW.speaker_id,
      NEW.master_key_id, current USING ERRCODE = 'P0001';
  END IF;
  RETURN NEW;
END $$""",
    "DROP TRIGGER IF EXISTS vomid_data_key_guard ON data_keys",
    ("CREATE TRIGGER vomid_data_key_guard BEFORE INSERT ON data_keys FOR EACH ROW "
     "EXECUTE FUNCTION vomid_data_key_guard()"),
)


def guard_data_keys(engine: Engine) -> None:
    """PostgreSQL: refuse a new data key wrapped by a master key that is not the store's current one."""
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key("site", "key guard")})
        for statement in _GUARD:
            conn.execute(text(statement))


def follow_rotation(store: StoreBase) -> str | None:
    """Take up the store's current master key when another node rotated it; None when this node holds it,
    else why it cannot (the key source still holds the old key)."""
    with store.engine.connect() as conn:
        values = {r.key: bytes(r.value) for r in conn.execute(
            select(meta.c.key, meta.c.value).where(meta.c.key.in_(("master_key_id", "kdf_salt", "key_check"))))}
        conn.rollback()
    wanted = values.get("master_key_id", b"").decode()
    keys = store._keys
    if not wanted or wanted == keys.master.key_id:
        return None
    found = _load(store._provider, values["kdf_salt"], values["key_check"], store.store_id)
    if found is None:
        return (f"the site's master key was rotated to key id {wanted}; {store._provider.describe()} does not hold "
                f"it (this node has key id {keys.master.key_id}): give this node the new key, no restart needed")
    old, keys.master = keys.master.key_id, found
    log.info("master key rotated on another node: now using key id %s (was %s)", found.key_id, old)
    return None


def _load(provider: Any, salt: bytes, check: bytes, store_id: str) -> MasterKey | None:
    """The key in ``provider`` (or beside it, a rotation's new key not yet moved in) that passes the check."""
    candidates = [provider]
    next_of = getattr(provider, "next_provider", None)
    if next_of is not None:
        candidates.append(next_of())  # the rotating node's own source before it moves the new key in
    for source in candidates:
        try:
            key = MasterKey(source.load(salt, create=False))
        except (MasterKeyError, OSError, ValueError):
            continue
        if key.matches(check, store_id):
            return key
    return None
