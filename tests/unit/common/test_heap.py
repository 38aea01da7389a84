"""A service's start-up heap is frozen once its lifespan has started (services.common.heap)."""

from __future__ import annotations

import gc
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.common.heap import frozen_after_start_up


def _in_a_generation(thing: object) -> bool:
    return any(o is thing for generation in range(3) for o in gc.get_objects(generation))


def test_what_start_up_made_is_frozen_before_the_app_serves_and_what_it_serves_with_is_not():
    made: dict[str, object] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        made["at start-up"] = {"a": [1, 2]}  # a container: tracked by the collector
        yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/")
    def serve() -> dict:
        made["while serving"] = {"b": [3]}
        return {"frozen": not _in_a_generation(made["at start-up"])}

    try:
        with TestClient(frozen_after_start_up(app)) as client:
            assert client.get("/").json() == {"frozen": True}
            assert gc.get_freeze_count() > 0
            assert _in_a_generation(made["while serving"])  # collected as usual
    finally:
        gc.unfreeze()  # this is the test run's heap, not a service's
