"""Alembic environment for the consent store: see services.common.db.migrate_online."""

from services.common.db import migrate_online
from services.consent.adapters.store import metadata

migrate_online(metadata)
