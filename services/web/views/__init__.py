"""One module per area (notifications-admin's app/main/views/). A new area: add its module
here; bootstrap includes every router with the CSRF check."""

from services.web.views import auth, home, notifications

ROUTERS = (auth.router, home.router, notifications.router)
