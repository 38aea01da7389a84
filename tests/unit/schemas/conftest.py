"""Fixtures for the contract tests: example payloads, an actor, a child id."""

from __future__ import annotations

from uuid import UUID

import pytest

from schemas.envelope import Actor, Event
from tests.unit.schemas.contract_examples import CHILD, EXAMPLES, practitioner as _practitioner


@pytest.fixture
def examples() -> dict[str, Event]:
    return EXAMPLES


@pytest.fixture
def practitioner() -> Actor:
    return _practitioner()


@pytest.fixture
def child_id() -> UUID:
    return CHILD
