"""/ready tells the truth about the broker: the consent service on a broker of its own answers
503 naming the broker while that broker is down (SIGKILLed), and 200 again by itself once it is
back. A real, disposable broker, so the shared one is never disturbed."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from services.consent.bootstrap import build_app
from services.consent.config import ConsentSettings
from tests.integration.common.broker import DisposableBroker
from tests.integration.consent.conftest import DIRECTORY


@pytest.fixture
def own_broker(tmp_path, kafka_bootstrap):
    workdir = tmp_path / "broker"
    workdir.mkdir()
    broker = DisposableBroker(workdir)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


async def until_status(client: httpx.AsyncClient, status: int, *, what: str, timeout_s: float = 90.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        response = await client.get("/ready")
        if response.status_code == status:
            return response.json()
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}: last {response.json()}")
        await asyncio.sleep(0.2)


async def test_ready_is_503_naming_the_broker_while_it_is_down_and_200_when_it_is_back(own_broker, tmp_path):
    settings = ConsentSettings(
        environment="test", database_url=f"sqlite:///{tmp_path / 'consent.db'}",
        kafka_bootstrap_servers=own_broker.bootstrap, run_children_consumer=False, run_expiry_task=False,
        ready_probe_timeout_s=2.0,
    )
    app = build_app(settings, directory=DIRECTORY)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://consent") as client:
            await until_status(client, 200, what="the service to be ready")

            own_broker.stop()
            problem = await until_status(client, 503, what="/ready to notice the broker is gone")
            assert list(problem["failing"]) == ["broker"] and problem["detail"].startswith("broker: ")

            own_broker.start()
            await until_status(client, 200, what="/ready to recover by itself")
