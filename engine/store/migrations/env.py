"""Alembic environment: runs on the connection that :mod:`engine.store.schema` hands over."""

from __future__ import annotations

from alembic import context

from engine.store.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run store migrations through engine.store.schema.upgrade(), not the alembic CLI")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
