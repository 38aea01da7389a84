"""`python -m services.timeline [migrate]`: the timeline service (batch consumer, HTTP API, outbox
relay) in one process on uvicorn's event loop; `migrate` runs the store's migrations and exits.

uvicorn owns the signals: SIGTERM/SIGINT run the lifespan's shutdown (the batch in flight
finishes and commits its offsets, the relay and producer stop). SIGKILL loses nothing either: unacked batches are
redelivered and the store ignores what it already has."""

import sys

from services.common.entrypoint import run_service
from services.timeline.bootstrap import MIGRATIONS, build
from services.timeline.config import TimelineSettings

if __name__ == "__main__":
    sys.exit(run_service("timeline", TimelineSettings, lambda s: build(s).app, MIGRATIONS))
