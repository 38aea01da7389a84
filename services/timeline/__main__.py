"""`python -m services.timeline`: the timeline service (Faust agent + HTTP API + outbox relay)
in one process, on uvicorn's event loop."""

from __future__ import annotations

import uvicorn

from services.common.logging import configure_logging
from services.common.settings import load_settings
from services.timeline.bootstrap import build
from services.timeline.config import TimelineSettings


def main() -> None:
    settings = load_settings(TimelineSettings)
    configure_logging("timeline", settings.log_level)
    timeline = build(settings)
    # uvicorn owns the signals: SIGTERM/SIGINT run the lifespan's shutdown (Faust commits
    # what was acked, the relay and producer stop). SIGKILL loses nothing either: unacked
    # batches are redelivered and the store ignores what it already has.
    uvicorn.run(timeline.app, host=settings.host, port=settings.port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
