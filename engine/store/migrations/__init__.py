"""Alembic migrations of the store, run from the package (no alembic.ini needed)."""
