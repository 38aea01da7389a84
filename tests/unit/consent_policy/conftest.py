"""Fixtures for the consent service's unit tests."""

from __future__ import annotations

import pytest

from tests.unit.consent_policy.consent_builders import ConsentEvents


@pytest.fixture
def events() -> ConsentEvents:
    """Builders of consent envelopes with readable defaults."""
    return ConsentEvents()
