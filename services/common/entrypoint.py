"""The one shape of every service's `__main__`:

    python -m services.<name>            serve the API (and its relay, consumers, timers)
    python -m services.<name> migrate    run the store's migrations and exit (deploy runs this
                                         before the service starts: compose one-shot, k8s
                                         initContainer)
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import uvicorn
from fastapi import FastAPI

from services.common.db import run_migrations
from services.common.heap import frozen_after_start_up
from services.common.logging import configure_logging
from services.common.settings import BaseServiceSettings, load_settings


def run_service(
    name: str,
    settings_class: type[BaseServiceSettings],
    build_app: Callable[[BaseServiceSettings], FastAPI],
    migrations: str,
    argv: Sequence[str] | None = None,
) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args not in ([], ["migrate"]):
        print(f"usage: python -m services.{name} [migrate]", file=sys.stderr)
        return 2
    settings = load_settings(settings_class)
    configure_logging(name, settings.log_level)
    if args == ["migrate"]:
        run_migrations(settings.database_url, migrations)
        return 0
    uvicorn.run(frozen_after_start_up(build_app(settings)), host=settings.host, port=settings.port, log_config=None, access_log=False)
    return 0
