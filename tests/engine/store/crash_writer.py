"""Run as a subprocess by test_crash: enrol speakers in a loop until killed, reporting each step."""

from __future__ import annotations

import sys

from engine.store import KeyFileProvider, VoiceprintStore
from tests.engine.store.conftest import make_voiceprint


def main(url: str, key_file: str, prefix: str) -> None:
    """Enrol ``<prefix>-<i>`` for i = 0, 1, ... printing ``begin i`` and ``done i`` around each write."""
    store = VoiceprintStore.open(url, KeyFileProvider(key_file), model_id="campplus")
    i = 0
    while True:
        print(f"begin {i}", flush=True)
        store.put(make_voiceprint(f"{prefix}-{i}", seed=i, takes=40))
        print(f"done {i}", flush=True)
        i += 1


if __name__ == "__main__":
    main(*sys.argv[1:4])
