"""`python -m services.consent [migrate]`: the consent API with its background tasks under uvicorn,
on TAC_CONSENT_HOST:TAC_CONSENT_PORT; `migrate` runs the store's migrations and exits."""

import sys

from services.common.entrypoint import run_service
from services.consent.bootstrap import MIGRATIONS, build_app
from services.consent.config import ConsentSettings

if __name__ == "__main__":
    sys.exit(run_service("consent", ConsentSettings, build_app, MIGRATIONS))
