"""The soak's one summary line and its Markdown results file."""

from __future__ import annotations

from typing import Any


def summary_line(run: Any) -> str:
    kills = " ".join(f"{name}={n}" for name, n in run.kills.items()) or "none"
    verdict = ("ERROR " + run.error) if run.error else (
        "OK" if not (run.lost or run.doubled or run.leaked) and run.settled else "FAILED")
    unsettled = "" if run.settled else " (" + ", ".join(f"{k} {v}" for k, v in run.settle_state.items() if v) + ")"
    return (f"chaos: {verdict}: events={run.events} kills[{kills}] broker_bounces={len(run.broker_bounces)} "
            f"pg_restarts={run.pg_restarts} lost={run.lost} doubled={run.doubled} leaked={run.leaked} "
            f"settled={'yes' if run.settled else 'NO'}{unsettled} in {run.phases.get('total', 0):.0f}s (seed {run.seed})")


def render_markdown(run: Any, line: str) -> str:
    s = run.scale
    out = [
        f"# Chaos soak, {run.started_at}",
        "",
        "`make chaos` (`python -m bench.chaos`, bench/chaos/): its own broker and PostgreSQL, the four services as "
        "processes on PostgreSQL, a real SMTP server and webhook receiver; events straight onto the topics and "
        "through the APIs while each service is SIGKILLed at random moments and started again, the broker is "
        "hard-bounced (SIGKILL, start) and PostgreSQL restarted (immediate mode, crash recovery).",
        "",
        "```",
        line,
        "```",
        "",
        "## Scale",
        "",
        f"- events straight onto the topics: {s.events:,} over {s.drive_s:.0f} s; children: {s.children:,} "
        f"({s.watched} with subscribed parents and practitioners: e-mail, webhook, inbox)",
        f"- API calls: {sum(run.api_calls.values()):,} ({', '.join(f'{k} {v}' for k, v in sorted(run.api_calls.items()))});"
        f" given up after retrying: {run.api_failures}; refused: "
        + (", ".join(f"{k} ({v})" for k, v in run.api_refused.items()) or "none"),
        f"- kills (SIGKILL) per service: {', '.join(f'{k} {v}' for k, v in run.kills.items())}; of which the "
        f"service answered /ready just before: {', '.join(f'{k} {v}' for k, v in run.kills_when_ready.items()) or 'none'} "
        "(the others landed while it was starting: importing, migrating, joining its group)",
        f"- broker hard bounces: {len(run.broker_bounces)} (seconds down: {', '.join(map(str, run.broker_bounces))}); "
        f"PostgreSQL restarts: {run.pg_restarts}",
        f"- exits nobody asked for (restarted): "
        + (", ".join(f"{k} {len(v)}" for k, v in run.unasked_exits.items()) or "none"),
        f"- phases (s): {', '.join(f'{k} {v}' for k, v in run.phases.items())}",
        f"- settled (every group at the end of its topics, outboxes published, deliveries finished): "
        f"{'yes' if run.settled else 'NO'} {run.settle_state}",
        f"- seed: {run.seed}",
        "",
        "## Checks",
        "",
        "| check | lost | doubled | leaked | figures | allowed (counted, not failures) |",
        "|---|---|---|---|---|---|",
    ]
    for f in run.findings:
        figures = ", ".join(f"{k} {v}" for k, v in f["figures"].items())
        allowed = ", ".join(f"{k} {v}" for k, v in f["allowed"].items()) or "-"
        out.append(f"| {f['check']} | {f['lost']} | {f['doubled']} | {f['leaked']} | {figures} | {allowed} |")
    examples = [(f["check"], e) for f in run.findings for e in f["examples"]]
    if examples:
        out += ["", "## Examples", ""] + [f"- {check}: {e}" for check, e in examples]
    if run.error:
        out += ["", f"**The soak did not run to the end:** {run.error}"]
    out += ["", "How the checks count: bench/chaos/checks.py (module docstring). Leaks are judged at the moment "
            "each inbox item was made or each message received, on the consent state folded from the events "
            "published on the topics by then (their Kafka record timestamps).", ""]
    return "\n".join(out)
