"""`make demo` / `make down`.

    python -m demo          start the services, play the story, print what each person sees,
                            then stay up until Ctrl-C (DEMO_EXIT=1: exit after printing,
                            non-zero if any visibility came out wrong)
    python -m demo down     stop the services a previous `make demo` started
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
import time
from datetime import date

from rich.console import Console

from demo.bus import notifications_mark, notifications_sent_since
from demo.cast import CAST
from demo.client import Api, StoryError
from demo.report import observe, print_report, wait_for_timeline
from demo.scenario import play
from demo.stack import ROOT, Stack

WORKDIR = ROOT / ".local" / "demo"


def up(exit_after: bool) -> int:
    console = Console(width=max(190, shutil.get_terminal_size((190, 40)).columns))
    stack = Stack(WORKDIR, kafka_bootstrap=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    stack.stop()  # a previous demo's services, if any
    shutil.rmtree(WORKDIR / "data", ignore_errors=True)  # every run tells the story afresh
    console.print(f"starting {', '.join(s.name for s in stack.services)} (logs in {stack.logdir})")
    stack.start()
    try:
        stack.wait_until_ready()
        urls = stack.urls
        api = Api(urls)
        for person in CAST:
            if person.organisation_id:
                api.call(person, "PUT", "notifications", "/subscriptions/me", json={})
        console.print("playing the story of SCENARIO.md through the services' HTTP APIs…")
        mark = notifications_mark(stack.kafka_bootstrap)
        story = play(api, date.today())
        stack.parent_children_file.write_text(f"{story.child_id}\n", encoding="utf-8")  # Ada's web sign-in
        wait_for_timeline(api, story)
        sent = notifications_sent_since(stack.kafka_bootstrap, mark, {str(e.event_id) for e in story.entries})
        observed = observe(api, story, sent)
        print_report(story, observed, urls, console)
    except (StoryError, TimeoutError, RuntimeError) as exc:
        console.print(f"[bold red]demo failed:[/bold red] {exc}")
        stack.stop()
        return 2
    if exit_after:
        stack.stop()
        return 1 if observed.problems else 0
    console.print(f"\nThe services and the web interface ({stack.url_of('web')}) stay up; press Ctrl-C (or run `make down`) to stop them.")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.is_set() and stack.running():
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    stack.stop()
    return 0


def down() -> int:
    stopped = Stack(WORKDIR).stop()
    print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["down"]:
        return down()
    return up(exit_after=os.environ.get("DEMO_EXIT", "") not in ("", "0"))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
