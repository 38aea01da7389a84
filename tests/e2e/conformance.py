"""Runs schemathesis over one API, as its command line (`schemathesis run`) would, and gathers what
it found into a plain report a test can assert on and a person can read.

The engine is the one behind the command line: every phase (examples, coverage, fuzzing, stateful),
every check. Its pytest plugin is not used: its lazy loader (`schemathesis.pytest.from_fixture`),
the only way to test a server a fixture starts, fails under pytest 9 (it reads `Item._nodeid`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import schemathesis
from schemathesis.engine import Status, events, from_schema


@dataclass(frozen=True)
class Finding:
    operation: str
    check: str
    title: str
    message: str
    answered: str
    reproduce: str

    def __str__(self) -> str:
        return (f"{self.operation} — {self.check}: {self.title}\n    {self.message}\n"
                f"    answered: {self.answered}\n    {self.reproduce}")


@dataclass
class Report:
    operations: set[str] = field(default_factory=set)
    cases: Counter[str] = field(default_factory=Counter)  # per phase
    findings: dict[tuple[str, str, str], Finding] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        phases = ", ".join(f"{phase} {n}" for phase, n in sorted(self.cases.items()))
        return f"{len(self.operations)} operations, {sum(self.cases.values())} requests ({phases})"

    def problems(self) -> str:
        lines = [str(f) for f in self.findings.values()]
        lines += [f"error: {e}" for e in self.errors]
        return "\n".join(lines)


def run(schema: schemathesis.BaseSchema) -> Report:
    report = Report()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            _record(report, event)
        elif isinstance(event, events.NonFatalError):
            report.errors.append(f"{event.label}: {event.info.title}: {event.info.message}")
        elif isinstance(event, events.FatalError):
            report.errors.append(f"fatal: {event.exception!r}")
        elif isinstance(event, events.EngineFinished):
            report.errors += [f"{f.operation}: {f.title}: {f.message}" for f in event.failures]
    return report


def _record(report: Report, event: events.ScenarioFinished) -> None:
    recorder = event.recorder
    if event.status == Status.SKIP:
        # A phase with nothing to do for an operation (no examples in the schema, no links to
        # follow); an operation no phase exercised is caught by the test's own assertion.
        return
    if event.label:
        report.operations.add(event.label)
    report.cases[str(event.phase)] += len(recorder.cases)
    for case_id, checks in recorder.checks.items():
        for check in checks:
            if check.status != Status.FAILURE or check.failure_info is None:
                continue
            failure = check.failure_info.failure
            operation = failure.operation or recorder.label
            key = (operation, check.name, failure.title)
            report.findings.setdefault(key, Finding(operation, check.name, failure.title, failure.message,
                                                    _answer(recorder.find_response(case_id=case_id)),
                                                    check.failure_info.code_sample))


def _answer(response) -> str:
    if response is None:
        return "no response"
    body = response.content[:300].decode("utf-8", "replace") if response.content else ""
    return f"{response.status_code} {body}"
