"""Prometheus metrics of the notifications service (served at /metrics by services.common.web).

Labels carry kinds and outcomes only, never ids: a child or person id would be personal data
in the monitoring system and would blow up its cardinality.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS = Counter(
    "tac_notifications_events_total", "Events consumed from the referrals and consent topics",
    ["outcome"],  # applied | dead_lettered
)
EVENT_SECONDS = Histogram(
    "tac_notifications_event_processing_seconds", "Time to apply one consumed event, retries included",
)
DELIVERIES = Counter(
    "tac_notifications_deliveries_total", "Delivery attempts by channel and outcome",
    ["channel", "outcome"],  # sent | retry | failed | withheld
)
REMINDERS = Counter("tac_notifications_reminders_total", "Reminders sent, one per recipient")
CONSENT_COPY_BEHIND = Gauge(
    "tac_notifications_consent_copy_behind",
    "Messages the consent copy had not applied at the last freshness check, per topic it is fed from "
    "(above 0: e-mails, webhooks and inbox reads wait)",
    ["topic"],
)
