"""JSON logs with correlation ids, and correlation ids on Kafka headers."""

from __future__ import annotations

import contextvars
import io
import json
import logging

import pytest
import structlog

from services.common.logging import (
    bind_correlation_id,
    configure_logging,
    correlation_from_headers,
    correlation_headers,
    get_correlation_id,
)


@pytest.fixture
def json_logs():
    """configure_logging for one test; returns a reader of the JSON lines written so far."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    out = io.StringIO()
    configure_logging("consent", "INFO", stream=out)

    def read() -> list[dict]:
        return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]

    yield read
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)
    structlog.reset_defaults()


def test_structlog_lines_are_json_with_timestamp_level_service_and_correlation_id(json_logs):
    with bind_correlation_id("corr-1"):
        structlog.get_logger("consent.handlers").info("consent_granted", consent_id="c-1")

    [line] = json_logs()
    assert line["event"] == "consent_granted"
    assert line["consent_id"] == "c-1"
    assert line["level"] == "info"
    assert line["service"] == "consent"
    assert line["correlation_id"] == "corr-1"
    assert line["timestamp"].endswith("Z")


def test_standard_library_logs_come_out_in_the_same_json_shape(json_logs):
    with bind_correlation_id("corr-2"):
        logging.getLogger("aiokafka.consumer").warning("rebalanced %d partitions", 6)
        logging.getLogger("uvicorn.error").error("boom", exc_info=ValueError("bad"))

    first, second = json_logs()
    assert first["event"] == "rebalanced 6 partitions"
    assert first["logger"] == "aiokafka.consumer"
    assert first["level"] == "warning"
    assert (first["service"], first["correlation_id"]) == ("consent", "corr-2")
    assert "ValueError: bad" in second["exception"]


def test_lines_below_the_level_are_dropped_and_sql_is_never_logged(json_logs):
    structlog.get_logger("x").debug("noise")
    logging.getLogger("sqlalchemy.engine").info("INSERT INTO children (name) VALUES ('Amy')")

    assert json_logs() == []


def test_bind_correlation_id_restores_the_previous_id_on_exit():
    before = get_correlation_id()
    with bind_correlation_id("outer"):
        with bind_correlation_id("inner") as inner:
            assert inner == get_correlation_id() == "inner"
        assert get_correlation_id() == "outer"
    assert get_correlation_id() == before


def test_bind_correlation_id_also_works_as_a_plain_setter():
    def handle_one_message() -> str | None:
        bind_correlation_id("msg-7")
        return get_correlation_id()

    assert contextvars.Context().run(handle_one_message) == "msg-7"


def test_bind_correlation_id_makes_a_fresh_id_for_a_missing_or_unsafe_value():
    with bind_correlation_id(None) as fresh, bind_correlation_id("bad\nid") as replaced:
        assert fresh and replaced and replaced != "bad\nid"


def test_the_correlation_id_travels_on_kafka_headers():
    with bind_correlation_id("corr-3"):
        headers = correlation_headers()

    assert headers == [("correlationid", b"corr-3")]
    assert correlation_from_headers([("other", b"x"), *headers]) == "corr-3"
    assert correlation_from_headers({"correlationid": b"corr-3"}) == "corr-3"


@pytest.mark.parametrize("headers", [None, [], [("other", b"x")], [("correlationid", b"\xff\xfe")],
                                     [("correlationid", b"has space")], [("correlationid", None)]])
def test_a_missing_or_unusable_correlation_header_reads_as_none(headers):
    assert correlation_from_headers(headers) is None


def test_no_correlation_header_is_sent_when_none_is_bound():
    assert contextvars.Context().run(correlation_headers) == []
