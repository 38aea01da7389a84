"""Times come back in UTC on both stores (every service writes them in UTC: services.common.clock)."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Column, DateTime, Integer, MetaData, Table, insert, select, text

from services.common.clock import utc
from services.common.db import make_engine

metadata = MetaData()
moments = Table("moments", metadata, Column("id", Integer, primary_key=True),
                Column("at", DateTime(timezone=True), nullable=False))


def test_a_time_comes_back_as_the_same_instant_in_utc(database_url):
    engine = make_engine(database_url)
    try:
        metadata.create_all(engine)
        written = datetime(2026, 3, 29, 5, 30, 1, 250, tzinfo=timezone.utc)
        with engine.begin() as connection:
            connection.execute(insert(moments).values(id=1, at=written))
            read = connection.execute(select(moments.c.at)).scalar_one()
            if engine.dialect.name == "postgresql":
                # The session is in UTC whatever the server's zone, so nothing is converted on read.
                assert connection.execute(text("SHOW TimeZone")).scalar_one() == "UTC"
                assert read.tzinfo is timezone.utc
        assert utc(read) == written and utc(read).tzinfo is timezone.utc
    finally:
        metadata.drop_all(engine)
        engine.dispose()
