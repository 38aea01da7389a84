"""`python -m services.referrals [migrate]`: the referrals API with its background tasks under uvicorn,
on TAC_REFERRALS_HOST:TAC_REFERRALS_PORT; `migrate` runs the store's migrations and exits."""

import sys

from services.common.entrypoint import run_service
from services.referrals.bootstrap import MIGRATIONS, build_app
from services.referrals.config import ReferralsSettings

if __name__ == "__main__":
    sys.exit(run_service("referrals", ReferralsSettings, build_app, MIGRATIONS))
