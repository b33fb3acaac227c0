"""Alembic builds the schema from empty on both engines, and it matches the tables the code uses."""

from __future__ import annotations

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
