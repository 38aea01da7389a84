"""IntegratedReviewWindowOpened (services.referrals.service_layer.review_window): announced on the day a child
reaches 23 months — at registration when the child is already past it — exactly once per
child, also across a restart and when two replicas race; never for a child at school; and
ChildRegistered carries no date derived from the date of birth. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timezone
from uuid import UUID

import httpx
import pytest
from sqlalchemy.exc import IntegrityError

from services.referrals.domain import clock
from services.referrals.service_layer import review_window
from services.referrals.service_layer.unit_of_work import unit_of_work
from tests.integration.referrals.conftest import auth, outbox_events, start_service

WINDOW = "integrated_review_window_opened"


async def test_the_window_is_announced_on_the_day_a_child_reaches_23_months_and_not_before(service):
    s = service
    s.clock.set_date(2025, 6, 2)
    child = await s.register(date_of_birth="2023-07-03")  # 23 months on 3 June 2025
    task = s.app.state.review_window
    assert await task.run_once() == 0 and s.outbox(child, kind=WINDOW) == []
    s.clock.set_date(2025, 6, 3)
    assert await task.run_once() == 1
    assert await task.run_once() == 0
    [announced] = s.outbox(child, kind=WINDOW)
    assert announced.data.announced_on == date(2025, 6, 3) and announced.category == "health"
    assert announced.actor.organisation_id == "sunflowers-nursery" and announced.actor.practitioner_id == "tac-referrals-service"


async def test_a_child_registered_past_23_months_is_announced_at_registration_and_only_then(service):
    s = service
    s.clock.set_date(2025, 6, 2)
    child = await s.register(date_of_birth="2023-01-10")  # 28 months
    events = s.outbox(child)
    assert [e.type.split(".")[2] for e in events] == ["child_registered", WINDOW]
    assert events[1].data.announced_on == date(2025, 6, 2)
    assert await s.app.state.review_window.run_once() == 0
    assert len(s.outbox(child, kind=WINDOW)) == 1


async def test_a_registered_child_carries_no_date_derived_from_the_date_of_birth(service):
    s = service
    born = date(2023, 7, 3)
    child = await s.register(date_of_birth=born.isoformat())
    [registered] = s.outbox(child, kind="child_registered")
    raw = registered.to_json_bytes()
    assert registered.data.due_dates == ()
    for d in [born, *(due.due_on for due in clock.child_due_dates(born))]:
        assert d.isoformat().encode() not in raw
    # The setting still reads the child's calendar from the service itself.
    details = (await s.client.get(f"/children/{child}", headers=auth("setting"))).json()
    assert {d["kind"] for d in details["due_dates"]} >= {clock.INTEGRATED_REVIEW_WINDOW_OPENS, clock.RECEPTION_PLACE}


async def test_a_child_already_at_school_is_never_announced(service):
    s = service
    s.clock.set_date(2025, 6, 2)
    child = await s.register(date_of_birth="2020-06-01")  # in reception since September 2024
    assert await s.app.state.review_window.run_once() == 0
    assert s.outbox(child, kind=WINDOW) == []


async def _until(predicate, timeout_s: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_the_window_is_announced_once_across_a_restart(database_url, kafka_bootstrap):
    fast = dict(run_outbox_relay=False, run_consent_consumer=False, review_window_interval_s=0.05)
    first, clock1, _ = await start_service(database_url, kafka_bootstrap, **fast)
    clock1.set_date(2025, 6, 2)
    async with first.router.lifespan_context(first):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url="http://referrals") as client:
            r = await client.post("/children", headers=auth("setting"), json={
                "given_name": "Cy", "family_name": "Example", "date_of_birth": "2023-07-03"})
            child = UUID(r.json()["child_id"])
        runs = first.state.review_window.runs
        await _until(lambda: first.state.review_window.runs >= runs + 2)
        assert outbox_events(first, child, kind=WINDOW) == []
        clock1.set_date(2025, 6, 3)  # the supervised loop, not the test, announces it
        await _until(lambda: len(outbox_events(first, child, kind=WINDOW)) == 1)

    second, clock2, _ = await start_service(database_url, kafka_bootstrap, **fast)
    clock2.now = datetime(2025, 6, 4, 9, 0, tzinfo=timezone.utc)
    async with second.router.lifespan_context(second):
        await _until(lambda: second.state.review_window.runs >= 3)
        assert len(outbox_events(second, child, kind=WINDOW)) == 1


async def test_a_second_replica_announcing_the_same_child_rolls_back_with_its_event(service):
    s = service
    s.clock.set_date(2025, 6, 2)
    child = await s.register(date_of_birth="2023-01-10")  # announced at registration
    before = len(s.outbox())
    deps = s.app.state.deps
    with pytest.raises(IntegrityError):
        with unit_of_work(deps) as uow:
            review_window.announce(uow, child, "sunflowers-nursery")
    assert len(s.outbox()) == before and len(s.outbox(child, kind=WINDOW)) == 1
