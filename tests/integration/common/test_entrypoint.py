"""`python -m services.<name> migrate` prepares a store before the service starts (deploy
runs it as a one-shot / initContainer)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, inspect

SERVICES = ["referrals", "consent", "timeline", "notifications"]


@pytest.mark.parametrize("service", SERVICES)
def test_migrate_creates_the_service_store_and_its_outbox_or_processed_events(service, database_url):
    env = dict(os.environ, **{f"TAC_{service.upper()}_DATABASE_URL": database_url})
    result = subprocess.run([sys.executable, "-m", f"services.{service}", "migrate"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    engine = create_engine(database_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert "alembic_version" in tables
    assert tables & {"outbox", "processed_events"}


def test_an_unknown_subcommand_is_refused_with_usage():
    result = subprocess.run([sys.executable, "-m", "services.referrals", "serve-forever"], capture_output=True, text=True)
    assert result.returncode == 2 and "usage: python -m services.referrals [migrate]" in result.stderr
