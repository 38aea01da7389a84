"""Timeline settings: defaults that run locally, everything from the environment, and a
refusal to consume the topics the timeline itself writes to."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from schemas import topics
from services.timeline.config import TimelineSettings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ("TAC_ENVIRONMENT", "KAFKA_BOOTSTRAP_SERVERS", "TAC_TIMELINE_DATABASE_URL", "TAC_TIMELINE_PORT",
                 "TAC_TIMELINE_CONSUMER_GROUP", "TAC_TIMELINE_REFERRALS_TOPIC", "TAC_TIMELINE_AUDIT_TOPIC"):
        monkeypatch.delenv(name, raising=False)
    # TAC_ENVIRONMENT defaults to production, which refuses the development key pair; these
    # tests are about the timeline's own settings, so they run as development explicitly.
    monkeypatch.setenv("TAC_ENVIRONMENT", "development")


def test_with_no_environment_set_the_timeline_runs_as_production_and_refuses_the_development_keys(monkeypatch):
    monkeypatch.delenv("TAC_ENVIRONMENT")
    with pytest.raises(ValidationError, match="development key pair"):
        TimelineSettings()


def test_by_default_the_timeline_runs_locally_on_port_8003_with_a_sqlite_store_and_the_tac_topics():
    settings = TimelineSettings()
    assert settings.port == 8003
    assert settings.database_url == "sqlite:///.local/timeline.db"
    assert (settings.referrals_topic, settings.consent_topic, settings.audit_topic, settings.deadletter_topic) == (
        topics.REFERRALS.name, topics.CONSENT.name, topics.AUDIT.name, topics.DEADLETTER.name)
    assert settings.consumer_group == "tac-timeline"


def test_settings_come_from_the_environment_with_the_timeline_prefix(monkeypatch):
    monkeypatch.setenv("TAC_TIMELINE_CONSUMER_GROUP", "timeline-blue")
    monkeypatch.setenv("TAC_TIMELINE_PORT", "9103")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-1:9092,kafka-2:9092")
    settings = TimelineSettings()
    assert (settings.consumer_group, settings.port, settings.kafka_bootstrap_servers) == (
        "timeline-blue", 9103, "kafka-1:9092,kafka-2:9092")


def test_the_timeline_refuses_to_consume_the_audit_topic_it_publishes_to(monkeypatch):
    monkeypatch.setenv("TAC_TIMELINE_REFERRALS_TOPIC", topics.AUDIT.name)
    with pytest.raises(ValidationError, match="must not consume the topics it writes to"):
        TimelineSettings()


def test_a_batch_window_of_zero_is_refused():
    with pytest.raises(ValidationError, match="batch_within_s"):
        TimelineSettings(batch_within_s=0)
