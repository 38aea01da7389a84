"""`python -m services.web`: the web interface under uvicorn on TAC_WEB_HOST:TAC_WEB_PORT
(default 127.0.0.1:8000)."""

import sys

import uvicorn

from services.common.heap import frozen_after_start_up
from services.common.logging import configure_logging
from services.common.settings import load_settings
from services.web.bootstrap import build_app
from services.web.config import WebSettings


def main() -> int:
    if sys.argv[1:]:
        print("usage: python -m services.web", file=sys.stderr)
        return 2
    settings = load_settings(WebSettings)
    configure_logging("web", settings.log_level)
    uvicorn.run(frozen_after_start_up(build_app(settings)), host=settings.host, port=settings.port, log_config=None, access_log=False,
                proxy_headers=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
