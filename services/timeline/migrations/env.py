"""Alembic environment for the timeline store. Run through services.common.db.run_migrations,
which passes the database URL in the config; the engine comes from make_engine so SQLite gets
the same WAL and foreign-key settings as the service."""

from alembic import context

from services.common.db import make_engine
from services.timeline.store import metadata

config = context.config


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=metadata)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("the timeline migrations run online only (services.common.db.run_migrations)")
run_migrations_online()
