"""`python -m services.referrals`: the referrals API (with its outbox relay and consent
consumer) under uvicorn, on TAC_REFERRALS_HOST:TAC_REFERRALS_PORT (default 127.0.0.1:8001)."""

from __future__ import annotations

import uvicorn

from services.common.logging import configure_logging
from services.common.settings import load_settings
from services.referrals.bootstrap import build_app
from services.referrals.config import ReferralsSettings


def main() -> None:
    settings = load_settings(ReferralsSettings)
    configure_logging("referrals", settings.log_level)
    uvicorn.run(build_app(settings), host=settings.host, port=settings.port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
