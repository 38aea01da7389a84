"""Reads what each person sees through the services' APIs, checks it against the story, and
prints it as tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

from rich.console import Console
from rich.table import Table

from demo.cast import ADA, CAST, DANA, GRACE, LEE, MARIA, Person
from demo.client import Api
from demo.expectations import expected_basis, may_be_notified
from demo.scenario import Story


@dataclass
class Observed:
    seen: dict[str, dict[UUID, str]] = field(default_factory=dict)  # person key -> event id -> basis
    inbox: dict[str, list[dict]] = field(default_factory=dict)
    caseloads: dict[str, dict] = field(default_factory=dict)
    access_log: list[dict] = field(default_factory=list)
    notifications_sent: list[dict] = field(default_factory=list)  # NotificationSent, from the bus
    problems: list[str] = field(default_factory=list)


def observe(api: Api, story: Story, notifications_sent: list[dict]) -> Observed:
    observed = Observed(notifications_sent=notifications_sent)
    cid = story.child_id
    for person in CAST:
        timeline = api.call(person, "GET", "timeline", f"/children/{cid}/timeline", params={"limit": 1000})
        observed.seen[person.key] = {UUID(e["event_id"]): e["basis"] for e in timeline["entries"]}
        observed.inbox[person.key] = api.call(person, "GET", "notifications", "/inbox", params={"limit": 200},
                                              retry_on=(503,))["items"]  # 503: catching up (freshness gate)
    observed.caseloads["dana"] = api.call(DANA, "GET", "referrals", "/caseload")
    observed.caseloads["lee"] = api.call(LEE, "GET", "referrals", "/caseload")
    observed.caseloads["grace"] = api.call(GRACE, "GET", "referrals", "/caseload/integrated-reviews")
    observed.caseloads["maria"] = api.call(MARIA, "GET", "referrals", f"/ehc-requests/{story.ehc_request_id}")
    observed.access_log = api.call(ADA, "GET", "timeline", f"/children/{cid}/access-log")["views"]
    observed.problems = check(story, observed)
    return observed


def check(story: Story, observed: Observed) -> list[str]:
    """Every entry × every person: visible exactly when the story's consents allow, on the
    right basis; and nobody was sent a notification about an entry they could not see then,
    nor about their own organisation's entry."""
    problems = []
    for person in CAST:
        seen = observed.seen[person.key]
        for entry in story.entries:
            want, got = expected_basis(person, entry, story), seen.get(entry.event_id)
            if want != got:
                problems.append(f"{person.name} / {entry.label}: expected {want or 'hidden'}, got {got or 'hidden'}")
    by_key = {p.key: p for p in CAST}
    by_id = {str(e.event_id): e for e in story.entries}
    for sent in observed.notifications_sent:
        person, entry = by_key.get(sent["data"]["recipient_id"]), by_id[sent["data"]["about_event_id"]]
        if person is None or not may_be_notified(person, entry, story):
            problems.append(f"{sent['data']['recipient_id']} was notified of an entry they may not see: {entry.label}")
        elif entry.author.organisation_id is not None and entry.author.organisation_id == person.organisation_id:
            problems.append(f"{person.name} was notified of their own organisation's entry: {entry.label}")
    return problems


def wait_for_timeline(api: Api, story: Story, timeout_s: float = 60.0) -> None:
    """Events flow asynchronously: wait until the parent (who sees everything) sees every entry."""
    import time

    deadline = time.monotonic() + timeout_s
    want = {e.event_id for e in story.entries}
    while True:
        timeline = api.call(ADA, "GET", "timeline", f"/children/{story.child_id}/timeline", params={"limit": 1000})
        have = {UUID(e["event_id"]) for e in timeline["entries"]}
        if want <= have:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(want - have)} entries never reached the timeline")
        time.sleep(1.0)


def _cell(basis: str | None, story: Story) -> str:
    if basis is None:
        return "[dim]·[/dim]"
    if basis.startswith("consent:"):
        labels = {str(v): k for k, v in story.consents.items()}
        return f"[green]{labels.get(basis.split(':', 1)[1], 'consent')}[/green]"
    return {"own": "[cyan]own[/cyan]", "own_request": "[blue]own_request[/blue]",
            "parent": "[magenta]parent[/magenta]"}.get(basis, basis)


def _short(person: Person) -> str:
    return person.name.split(" (")[0].replace("Dr ", "")


def print_report(story: Story, observed: Observed, urls: dict[str, str], console: Console | None = None) -> None:
    console = console or Console()
    console.rule(f"[bold]Amara's timeline: who sees what, and on what basis[/bold] (child {story.child_id})")
    grid = Table(show_lines=False, header_style="bold")
    grid.add_column("entry", no_wrap=True)
    for person in CAST:
        grid.add_column(_short(person), justify="center", min_width=11)  # fits "own_request"
    for entry in story.entries:
        grid.add_row(entry.label, *(_cell(observed.seen[p.key].get(entry.event_id), story) for p in CAST))
    console.print(grid)
    console.print("own = the viewer's organisation wrote it · own_request = it answers the viewer's organisation's "
                  "request · parent = parental responsibility · C1a… = the consent that permits it (the viewer's "
                  "organisation being on the team) · [dim]·[/dim] = not shown")
    console.rule("Step 13: Kit Ward (Westshire Early Years Inclusion) has no relationship with Amara")
    for line in story.stranger_refusals:
        console.print(f"  {line}")
    consents = Table(title="Consents", header_style="bold")
    consents.add_column("label")
    consents.add_column("consent id")
    for label, cid in story.consents.items():
        consents.add_row(label, str(cid) + ("  (withdrawn in step 11)" if label == "C1c" else ""))
    console.print(consents)

    _print_caseload(console, "Dana's caseload (area SENCO)", observed.caseloads["dana"])
    _print_caseload(console, "Dr Chen's caseload (EP)", observed.caseloads["lee"])
    _print_caseload(console, "Grace's integrated reviews", observed.caseloads["grace"])
    _print_ehc_clock(console, observed.caseloads["maria"], story.today)

    inbox = Table(title="Notifications", header_style="bold")
    inbox.add_column("person")
    inbox.add_column("inbox items now", justify="right")
    inbox.add_column("sent (NotificationSent on the bus)", justify="right")
    inbox.add_column("sent about an entry they could not see", justify="right")
    for person in CAST:
        sent = [s for s in observed.notifications_sent if s["data"]["recipient_id"] == person.key]
        by_id = {str(e.event_id): e for e in story.entries}
        bad = sum(1 for s in sent if not may_be_notified(person, by_id[s["data"]["about_event_id"]], story))
        inbox.add_row(person.name, str(len(observed.inbox[person.key])), str(len(sent)), str(bad))
    console.print(inbox)

    log = Table(title="Ada's access log: who looked at Amara's timeline", header_style="bold")
    for column in ("when (UTC)", "who", "organisation", "entries shown", "on what basis"):
        log.add_column(column)
    for view in observed.access_log:
        viewer = view["viewer"]
        bases = ", ".join(f"{_basis_label(k, story)}×{n}" for k, n in sorted(view["bases"].items()))
        log.add_row(view["viewed_at"][:19].replace("T", " "), viewer["practitioner_id"],
                    viewer["organisation_id"] or "(parent)", str(view["entries_shown"]), bases or "—")
    console.print(log)

    if observed.problems:
        console.rule("[bold red]Visibility problems[/bold red]")
        for problem in observed.problems:
            console.print(f"[red]✗[/red] {problem}")
    else:
        console.print(f"[bold green]✓ every entry × every person is visible exactly as the consents allow "
                      f"({len(story.entries)} entries × {len(CAST)} people); nobody was notified of an entry they may not see[/bold green]")

    console.rule("Where to go next")
    if "web" in urls:
        console.print(f"  [bold]Open {urls['web']} in a browser[/bold] and sign in as anyone of the story, for example:")
        for who, what in (("Priya Shah", "the nursery's SENCO: Amara's page, the team, every form of the story"),
                          ("Dana Hughes", "the area SENCO: her caseload, the referral she accepted"),
                          ("Maria Lopez", "the SEN caseworker: the EHC clock, week N of 20"),
                          ("Ada Okoro", "Amara's mother: who can see what, who has looked, withdrawing a consent"),
                          ("Kit Ward", "an area SENCO with no link to Amara: she does not exist for him")):
            console.print(f"    {who:<13} {what}")
    for name, url in urls.items():
        if name != "web":
            console.print(f"  {name:<14} {url}/docs")
    console.print("  tokens:        .venv/bin/tac token --practitioner dana-hughes --organisation northbridge-inclusion "
                  "--agency area_senco --role area_senco")
    console.print("  stop it all:   make down")


def _basis_label(basis: str, story: Story) -> str:
    if basis.startswith("consent:"):
        labels = {str(v): k for k, v in story.consents.items()}
        return labels.get(basis.split(":", 1)[1], basis)
    return basis


def _print_caseload(console: Console, title: str, caseload: dict) -> None:
    items = caseload.get("items", caseload.get("children", []))
    table = Table(title=title, header_style="bold")
    if not items:
        console.print(f"{title}: nothing open")
        return
    keys = [k for k in items[0].keys() if k not in ("id", "child_id", "organisation_id")][:8]
    for k in keys:
        table.add_column(k.replace("_", " "))
    for item in items:
        table.add_row(*(_fmt(item.get(k)) for k in keys))
    console.print(table)


def _print_ehc_clock(console: Console, ehc: dict, today: date) -> None:
    table = Table(title="Maria's EHC clock", header_style="bold")
    table.add_column("what")
    table.add_column("value")
    requested = date.fromisoformat(ehc["requested_on"])
    # SEND Regulations 2014 reg. 13(2): the final plan within 20 weeks of the request.
    table.add_row("clock", f"week {(today - requested).days // 7 + 1} of 20 (request received {requested})")
    for k, v in ehc.items():
        if k in ("due_dates", "deadlines") and isinstance(v, list):
            for d in v:
                table.add_row(f"due: {d.get('kind')}", f"{d.get('due_on')}  ({d.get('reference', '')})")
        else:
            table.add_row(k.replace("_", " "), _fmt(v))
    console.print(table)


def _fmt(value) -> str:
    if isinstance(value, dict) and {"kind", "due_on"} <= value.keys():  # a statutory or target date
        return f"{value['due_on']} ({value['kind'].replace('_', ' ')})"
    if isinstance(value, list):
        return ", ".join(_fmt(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items())
    return "" if value is None else str(value)
