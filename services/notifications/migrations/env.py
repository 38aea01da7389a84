"""Alembic environment for the notifications store: see services.common.db.migrate_online."""

from services.common.db import migrate_online
from services.notifications.adapters.store import metadata

migrate_online(metadata)
