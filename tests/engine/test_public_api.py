"""The engine's public API: what ``engine.__all__`` lists is what ``from engine import ...`` gives."""

from __future__ import annotations

import engine


def test_all_lists_exactly_the_lazy_exports() -> None:
    assert engine.__all__ == sorted(engine._EXPORTS)


def test_every_listed_name_imports() -> None:
    for name in engine.__all__:
        assert getattr(engine, name).__name__ == name
