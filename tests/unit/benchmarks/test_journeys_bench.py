"""bench/journeys_bench.py's arithmetic and report (no timing is asserted anywhere)."""

from __future__ import annotations

from bench.journeys_bench import JourneysConfig, render_markdown, summary


def test_summary_is_in_milliseconds_with_the_common_percentile():
    assert summary([float(i) for i in range(1, 101)]) == {"samples": 100, "p50_ms": 50.5, "p99_ms": 99.0,
                                                          "mean_ms": 50.5, "max_ms": 100.0}
    assert summary([]) == {"samples": 0}


def _figures(p50: float) -> dict:
    return {"samples": 3, "p50_ms": p50, "p99_ms": p50 * 2, "mean_ms": p50, "max_ms": p50 * 2}


def test_the_report_holds_both_paths_the_strict_count_and_the_notifications_check():
    from dataclasses import asdict

    config = JourneysConfig()
    hop = {"samples": 3, "p50_ms": 1.0, "p99_ms": 2.0}
    results = {"config": asdict(config), "sqlite": {
        "load_average_at_start": [1.0, 1.0, 1.0], "load_average_at_end": [2.0, 2.0, 2.0], "setup_s": 40.0,
        "concern_to_visible": {"rate_per_s": 20.0, **_figures(60.0), "post_answered": _figures(20.0),
                               "showing_read_duration": _figures(15.0),
                               "client_loop_lag": _figures(1.0)},
        "withdrawal_to_hidden": {"rate_per_s": 10.0, **_figures(45.0), "first_read_after_answer_still_showed": 197,
                                 "first_read_duration": _figures(15.0), "hiding_read_duration": _figures(15.0),
                                 "new_concern_shown_to_withdrawn_org_reads": 0, "client_loop_lag": _figures(1.0)},
        "notifications_after_withdrawal": {"concerns_after_withdrawal": 200, "waited_for_control_s": 1.5,
                                           "control_grace_delivery_jobs": 200, "control_grace_inbox_items": 200,
                                           "withdrawn_sam_delivery_jobs": 0, "withdrawn_sam_inbox_items": 0,
                                           "withdrawn_sam_inbox_api_items": 0},
        "stages": {"concern_to_visible": {"a hop": hop}, "withdrawal_to_hidden": {"a hop": hop}},
        "rss_mb_at_rest": {"timeline": 107.0}, "rss_mb_at_end": {"timeline": 116.0},
    }}
    machine = {"started_at": "2026-12-02T02:00:00+00:00", "cpus": 2, "python": "3.11",
               "load_average_at_start": [1.0, 1.0, 1.0], "load_average_at_end": [2.0, 2.0, 2.0]}
    text = render_markdown(results, machine)
    assert "197 of 3" in text  # the strict first-read count, beside the samples
    assert "0 delivery jobs ({}), 0 inbox items stored, 0 in its inbox API" in text
    assert "| at rest | – | – | 107.0 | – |" in text
    assert "p99 ≤ 150" in text and "p99 ≤ 100" in text
