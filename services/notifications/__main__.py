"""`python -m services.notifications`: the notifications service (Faust agent and reminder
timer, delivery worker, outbox relay, HTTP API) in one process, on uvicorn's event loop."""

from __future__ import annotations

import uvicorn

from services.common.logging import configure_logging
from services.common.settings import load_settings
from services.notifications.bootstrap import build
from services.notifications.config import NotificationsSettings


def main() -> None:
    settings = load_settings(NotificationsSettings)
    configure_logging("notifications", settings.log_level)
    service = build(settings)
    # uvicorn owns the signals: SIGTERM/SIGINT run the lifespan's shutdown (in-flight
    # deliveries finish, Faust commits what was acked). SIGKILL loses nothing either: unacked
    # events are redelivered and ignored once applied; leased jobs are retried when the lease
    # runs out.
    uvicorn.run(service.app, host=settings.host, port=settings.port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
