"""Alembic environment for the referrals store: see services.common.db.migrate_online."""

from services.common.db import migrate_online
from services.referrals.adapters.tables import metadata

migrate_online(metadata)
