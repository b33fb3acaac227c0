"""Fault injection for the partition tests and `vomid bench cluster`; nothing here is reachable over HTTP.

A node started with ``VOMID_FAULT_INJECTION=<file>`` drops cluster traffic to and from the node ids that
the JSON file lists (``{"blocked": ["nodeb"]}``); whoever started the node rewrites the file to cut and
heal a partition. Without the variable a node reads no such file, and no route changes what it blocks.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from engine.atomic import atomic_write_bytes

ENV = "VOMID_FAULT_INJECTION"
log = logging.getLogger(__name__)


class PartitionFile:
    """The node ids this node is cut off from, read again whenever the file is replaced."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._seen: tuple[int, int, int] | None = None
        self._blocked: frozenset[str] = frozenset()

    def blocked(self) -> frozenset[str]:
        """The node ids listed now (none while the file does not exist)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return frozenset()
        seen = (st.st_ino, st.st_mtime_ns, st.st_size)
        if seen != self._seen:
            try:
                blocked = frozenset(str(node_id) for node_id in json.loads(self.path.read_bytes())["blocked"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("fault injection: cannot read %s (%s); keeping the previous partition", self.path, exc)
                return self._blocked
            self._seen, self._blocked = seen, blocked
        return self._blocked


def partition_from_env(environ: Mapping[str, str] | None = None) -> PartitionFile | None:
    """The partition file named by ``VOMID_FAULT_INJECTION``, or None (a production node)."""
    path = (os.environ if environ is None else environ).get(ENV)
    if not path:
        return None
    log.warning("%s is set: this node drops cluster traffic to the nodes %s lists (tests and benchmarks only)",
                ENV, path)
    return PartitionFile(Path(path))


def write_partition(path: Path, node_ids: Iterable[str]) -> None:
    """Cut the node reading ``path`` off from ``node_ids`` (empty: heal), all at once."""
    atomic_write_bytes(Path(path), json.dumps({"blocked": sorted(node_ids)}).encode())
