"""`python -m services.consent`: the consent API (with its outbox relay, children consumer and
expiry task) under uvicorn, on TAC_CONSENT_HOST:TAC_CONSENT_PORT (default 127.0.0.1:8002)."""

from __future__ import annotations

import uvicorn

from services.common.logging import configure_logging
from services.common.settings import load_settings
from services.consent.bootstrap import build_app
from services.consent.config import ConsentSettings


def main() -> None:
    settings = load_settings(ConsentSettings)
    configure_logging("consent", settings.log_level)
    uvicorn.run(build_app(settings), host=settings.host, port=settings.port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
