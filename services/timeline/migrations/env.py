"""Alembic environment for the timeline store: see services.common.db.migrate_online."""

from services.common.db import migrate_online
from services.timeline.adapters.store import metadata

migrate_online(metadata)
