"""Settings refuse configurations that would misroute events or send e-mail in clear."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.notifications.config import NotificationsSettings


def settings(**values) -> NotificationsSettings:
    return NotificationsSettings(**{"environment": "test", **values})


def test_the_defaults_are_the_contract_topics_a_local_store_and_port_8004():
    s = settings()

    assert (s.referrals_topic, s.consent_topic, s.notifications_topic) == (
        "tac.referrals.v1", "tac.consent.v1", "tac.notifications.v1")
    assert (s.database_url, s.port, s.email_enabled) == ("sqlite:///.local/notifications.db", 8004, False)


def test_the_timeline_link_base_comes_from_tac_timeline_public_url(monkeypatch):
    monkeypatch.setenv("TAC_TIMELINE_PUBLIC_URL", "https://tac.example.org/")

    assert settings().timeline_public_url == "https://tac.example.org"


def test_smtp_settings_come_from_the_service_prefix(monkeypatch):
    monkeypatch.setenv("TAC_NOTIFICATIONS_SMTP_HOST", "smtp.example.org")
    monkeypatch.setenv("TAC_NOTIFICATIONS_SMTP_PORT", "587")
    monkeypatch.setenv("TAC_NOTIFICATIONS_SMTP_STARTTLS", "true")

    s = settings()

    assert (s.smtp_host, s.smtp_port, s.smtp_starttls, s.email_enabled) == ("smtp.example.org", 587, True, True)


@pytest.mark.parametrize("values", [
    {"referrals_topic": "same", "consent_topic": "same"},
    {"consent_topic": "tac.notifications.v1"},
    {"referrals_topic": "tac.deadletter.v1"},
    {"smtp_host": "smtp.example.org", "smtp_ssl": True, "smtp_starttls": True},
    {"timeline_public_url": "ftp://tac.example.org"},
    {"max_attempts": 0},
])
def test_inconsistent_settings_are_refused_at_start(values):
    with pytest.raises(ValidationError):
        settings(**values)


def test_e_mails_and_webhooks_are_held_a_few_seconds_by_default_and_never_a_negative_time():
    assert settings().external_hold_s == 5.0
    assert settings(external_hold_s=0).external_hold_s == 0
    with pytest.raises(ValidationError, match="external_hold_s"):
        settings(external_hold_s=-1)
