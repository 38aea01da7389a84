"""Who is signed in, kept in the signed session cookie (Starlette's SessionMiddleware: HttpOnly,
SameSite=Lax, Secure outside development), with the idle timeout and the CSRF token.

The session holds the access token the APIs are called with and the few claims pages need.
It is signed, not encrypted, so it holds no case data, with one exception kept short: a consent
form's answers between the form and "check your answers" (views/consent_journey.py, one draft,
gone once recorded). A confirmation keeps ids, kinds, dates and organisation names only
(views/parent/common.done). Pages get the person through the `SignedIn`, `Practitioner` and `Parent`
dependencies (views/deps.py); nothing reaches for it from a global.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from services.common.auth import Principal

PERSON_KEY = "person"
CSRF_KEY = "csrf"
SEEN_KEY = "seen"
# The page a signed-out person asked for (a notification's link, a bookmark), gone on to once
# they have signed in: within REMEMBERED_FOR_S of asking (not whoever signs in next on this
# browser, an hour later), and a path no longer than REMEMBERED_PATH_MAX (the cookie stays
# well under the 4 KB browsers keep; every page's path is far shorter).
AFTER_SIGN_IN_KEY = "after_sign_in"
REMEMBERED_FOR_S = 600
REMEMBERED_PATH_MAX = 512
# A path on this site as its pages are addressed: no scheme, no host, nothing a browser could
# read as another site's address ('//host', '/\\host').
_SITE_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9/_.%~-]*")

Clock = Callable[[], float]


@dataclass(frozen=True)
class SignedInPerson:
    practitioner_id: str
    name: str
    organisation_id: str | None
    organisation_name: str | None
    agency: str
    role: str
    children: tuple[UUID, ...]
    access_token: str

    @property
    def is_parent(self) -> bool:
        return self.agency == "parent"

    @classmethod
    def from_principal(cls, principal: Principal, *, name: str, organisation_name: str | None,
                       access_token: str) -> "SignedInPerson":
        return cls(
            practitioner_id=principal.practitioner_id, name=name, organisation_id=principal.organisation_id,
            organisation_name=organisation_name, agency=principal.agency.value, role=principal.role,
            children=tuple(sorted(principal.children, key=str)), access_token=access_token,
        )

    def to_session(self) -> dict[str, Any]:
        return {
            "id": self.practitioner_id, "name": self.name, "org": self.organisation_id,
            "org_name": self.organisation_name, "agency": self.agency, "role": self.role,
            "children": [str(c) for c in self.children], "token": self.access_token,
        }

    @classmethod
    def from_session(cls, data: Any) -> "SignedInPerson | None":
        if not isinstance(data, dict):
            return None
        try:
            return cls(
                practitioner_id=str(data["id"]), name=str(data["name"]), organisation_id=data.get("org"),
                organisation_name=data.get("org_name"), agency=str(data["agency"]), role=str(data["role"]),
                children=tuple(UUID(c) for c in data.get("children") or ()), access_token=str(data["token"]),
            )
        except (KeyError, ValueError, TypeError):
            return None


def signed_in_person(session: MutableMapping[str, Any]) -> SignedInPerson | None:
    return SignedInPerson.from_session(session.get(PERSON_KEY))


def remember_page(session: MutableMapping[str, Any], path: str, now: float) -> None:
    """`path` was asked for by someone not signed in, at `now`: `sign_in` gives it back. One
    that is not a path on this site, or too long, is not remembered."""
    if len(path) <= REMEMBERED_PATH_MAX and _SITE_PATH.fullmatch(path):
        session[AFTER_SIGN_IN_KEY] = {"path": path, "at": now}


def sign_in(session: MutableMapping[str, Any], person: SignedInPerson, now: float) -> str | None:
    """A fresh session for `person`: nothing of the one before survives (no fixation), and a
    new CSRF token. Returns the page they asked for before signing in (`remember_page`), if
    they asked within REMEMBERED_FOR_S (a path on this site: `remember_page` keeps no other, and
    only this server can write the signed cookie)."""
    asked = session.get(AFTER_SIGN_IN_KEY)
    session.clear()
    session[PERSON_KEY] = person.to_session()
    session[CSRF_KEY] = secrets.token_urlsafe(32)
    session[SEEN_KEY] = now
    if isinstance(asked, dict) and isinstance(asked.get("at"), (int, float)) \
            and 0 <= now - asked["at"] <= REMEMBERED_FOR_S:
        return asked.get("path")
    return None


def sign_out(session: MutableMapping[str, Any]) -> None:
    session.clear()


def csrf_token(session: MutableMapping[str, Any]) -> str:
    """The session's CSRF token, made on first use (the sign-in form needs one before anyone
    has signed in)."""
    token = session.get(CSRF_KEY)
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session[CSRF_KEY] = token
    return token


def csrf_matches(session: MutableMapping[str, Any], submitted: object) -> bool:
    expected = session.get(CSRF_KEY)
    if not isinstance(expected, str) or not isinstance(submitted, str) or not submitted:
        return False
    return secrets.compare_digest(expected.encode(), submitted.encode())


def touch(session: MutableMapping[str, Any], now: float, idle_timeout_s: float) -> bool:
    """Record activity now. A signed-in session unused for longer than the idle timeout is
    cleared instead; returns whether it was."""
    if PERSON_KEY not in session:
        return False
    seen = session.get(SEEN_KEY)
    if not isinstance(seen, (int, float)) or now - seen > idle_timeout_s or seen > now + 60:
        session.clear()
        return True
    session[SEEN_KEY] = now
    return False


def wall_clock() -> float:
    return time.time()
