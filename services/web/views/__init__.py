"""One module per area (notifications-admin's app/main/views/). A new area: add its module
here; bootstrap includes every router with the CSRF check."""

from services.web.views import auth, home, notifications
from services.web.views import child_forms, children, consent, referrals, team  # W2a
from services.web.views import ehc, ehc_la, reports, reviews, safeguarding, transition  # W2b
from services.web.views import parent  # W5: a parent's pages

# In order of matching: child_forms' /children/new before children's /children/{child_id}.
ROUTERS = (auth.router, home.router, notifications.router,
           child_forms.router, children.router, consent.router, referrals.router, team.router,  # W2a
           reviews.router, reports.router, ehc.router, ehc_la.router, transition.router, safeguarding.router,  # W2b
           parent.router)  # W5
