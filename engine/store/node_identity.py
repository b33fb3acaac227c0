"""A site node's own id: given by settings, or made once and kept in the node's data dir (never in the database).

Nodes of one site share the database, so the id kept in ``store_meta`` would be the same for all of
them; each node's records, HLC timestamps and audit chain need an id of its own.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from engine.atomic import atomic_write_bytes
from engine.store.errors import StoreError

NODE_ID_FILE = "node_id"
NODE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,48}$"  # no '.': HLC timestamps end with the node id


def check_node_id(node_id: str, where: str = "node id") -> str:
    """The id, or a clear error when it is not 1-48 letters, digits, '_' or '-'."""
    if not re.fullmatch(NODE_ID_PATTERN, node_id):
        raise StoreError(f"{where} {node_id!r} must be 1-48 letters, digits, '_' or '-'")
    return node_id


def local_node_id(data_dir: str | Path) -> str:
    """This node's id from ``data_dir/node_id``, made (random) and written there on first use."""
    path = Path(data_dir) / NODE_ID_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            atomic_write_bytes(path, f"node-{uuid.uuid4().hex[:12]}\n".encode("ascii"), replace=False)
        except FileExistsError:
            pass  # another process of this data dir made it a moment ago: use that one
    return check_node_id(path.read_text(encoding="ascii").strip(), f"the node id in {path}")
