"""`python -m services.notifications [migrate]`: the notifications service (batch consumer and
reminder loop, delivery worker, outbox relay, HTTP API) in one process on uvicorn's event
loop; `migrate` runs the store's migrations and exits.

uvicorn owns the signals: SIGTERM/SIGINT run the lifespan's shutdown (in-flight deliveries
finish, the consumer has committed each batch it applied). SIGKILL loses nothing either: unacked events are
redelivered and ignored once applied; leased jobs are retried when the lease runs out."""

import sys

from services.common.entrypoint import run_service
from services.notifications.bootstrap import MIGRATIONS, build
from services.notifications.config import NotificationsSettings

if __name__ == "__main__":
    sys.exit(run_service("notifications", NotificationsSettings, lambda s: build(s).app, MIGRATIONS))
