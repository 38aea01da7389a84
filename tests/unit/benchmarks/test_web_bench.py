"""bench/web_bench.py's arithmetic and parsing (no timing is asserted anywhere)."""

from __future__ import annotations

import base64
import json
import random
import statistics

import pytest

from bench.web_bench import Timing, parse_server_timing, percentile, ratio, session_token


def test_percentile_interpolates_between_closest_ranks():
    values = [10.0, 20.0, 30.0, 40.0]  # ranks 0..3
    assert percentile(values, 0) == 10.0
    assert percentile(values, 100) == 40.0
    assert percentile(values, 50) == 25.0  # halfway between 20 and 30
    assert percentile(values, 95) == pytest.approx(38.5)  # rank 2.85
    assert percentile([7.0], 95) == 7.0


def test_percentile_does_not_need_sorted_input_and_agrees_with_the_standard_library():
    # statistics.quantiles(method="inclusive") is the same definition (numpy's default too).
    rng = random.Random(12)
    for n in (2, 5, 101, 200):
        values = [rng.expovariate(1 / 40) for _ in range(n)]
        cuts = statistics.quantiles(values, n=100, method="inclusive")  # cuts[k - 1] = k-th percentile
        for p in (5, 50, 95, 99):
            assert percentile(values, p) == pytest.approx(cuts[p - 1])
        assert percentile(values, 50) == pytest.approx(statistics.median(values))


def test_percentile_refuses_nothing_and_out_of_range():
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_timing_of_seconds_is_in_milliseconds():
    t = Timing.of([0.001 * i for i in range(1, 101)])  # 1..100 ms
    assert (t.samples, t.p50_ms, t.p95_ms, t.min_ms, t.max_ms, t.mean_ms) == (100, 50.5, 95.0, 1.0, 100.0, 50.5)


def test_ratio():
    assert ratio(90.0, 30.0) == 3.0


def test_server_timing_header_is_parsed_to_durations():
    assert parse_server_timing('api;dur=12.5;desc="3 calls", app;dur=40') == {"api": 12.5, "app": 40.0}
    assert parse_server_timing("cache, db;dur=bad, x;desc=y") == {}


def test_the_access_token_is_read_from_a_starlette_session_cookie():
    payload = base64.b64encode(json.dumps({"person": {"token": "abc.def.ghi"}, "csrf": "x"}).encode()).decode()
    assert session_token(f"{payload}.ZzZzZw.c2lnbmF0dXJl") == "abc.def.ghi"
