"""Alembic revision files (Alembic itself ignores this module)."""
