"""Alembic builds the schema from empty on both engines, and it matches the tables the code uses."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from engine.store import schema
from engine.store.models import metadata


def test_upgrade_from_empty_matches_the_models(store_url: str) -> None:
    engine = schema.make_engine(store_url)
    try:
        assert schema.current_revision(engine) is None
        assert schema.upgrade(engine) == schema.head_revision()
        assert schema.current_revision(engine) == schema.head_revision()
        tables = set(inspect(engine).get_table_names())
        assert {
            "speakers",
            "voiceprints",
            "data_keys",
            "audit_log",
            "api_keys",
            "store_meta",
            "alembic_version",
        } <= tables
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
        schema.upgrade(engine)  # idempotent at head
        assert schema.current_revision(engine) == schema.head_revision()
    finally:
        engine.dispose()


def test_a_newer_schema_is_refused(store_url: str) -> None:
    import pytest
    from sqlalchemy import text

    from engine.store.errors import SchemaError

    engine = schema.make_engine(store_url)
    try:
        schema.upgrade(engine)
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        with pytest.raises(SchemaError, match="newer than this program"):
            schema.upgrade(engine)
    finally:
        engine.dispose()


def test_upgrade_from_0001_with_data_keeps_every_voiceprint(store_url: str, tmp_path: Path) -> None:
    """A store written by the first schema (takes inside voiceprints) opens after the 0002 migration."""
    import numpy as np

    from engine.store import KeyFileProvider, VoiceprintStore
    from tests.engine.store.conftest import make_voiceprint

    key = KeyFileProvider(tmp_path / "master.key")
    store = VoiceprintStore.open(store_url, key)
    for i in range(3):
        store.put(make_voiceprint(f"s{i}", seed=i))
    store.delete_speaker("s2")
    engine = store.engine
    cfg = schema._alembic_config(None)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    assert schema.current_revision(engine) == "0001"
    assert "voiceprint_takes" not in inspect(engine).get_table_names()
    store.close()
    reopened = VoiceprintStore.open(store_url, key, model_id="campplus")
    assert schema.current_revision(reopened.engine) == schema.head_revision()
    assert sorted(reopened.matrix("campplus")[0]) == ["s0", "s1"]
    got = reopened.get("s1", "campplus")
    assert got is not None and np.array_equal(got.takes, make_voiceprint("s1", seed=1).takes)
    assert reopened.check_integrity() == []
    reopened.close()
