"""How people sign in: the adapters bootstrap chooses between (tests swap in fakes).

* `DevSignIn` (TAC_ENVIRONMENT=development only): the people of SCENARIO.md, each signed in
  with a token from the committed development key, as `tac token` and demo/cast.py issue them.
* `OidcSignIn` (everywhere else): OpenID Connect authorization code flow with PKCE (S256)
  through Authlib's Starlette client. The access token the provider issues is what the APIs
  are called with; it is verified here with the same verifier the APIs use (TAC_JWT_JWKS_URL),
  so the web knows the person exactly as the APIs will.
"""

from __future__ import annotations

from typing import Protocol

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.starlette_client import OAuth
from joserfc.errors import JoseError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from services.common.auth import AuthError, Principal, TokenVerifier
from services.common.dev_tokens import dev_private_key_pem, issue_token
from services.web.api_clients.errors import ServiceUnavailable
from services.web.config import WebSettings
from services.web.dev_people import DEV_PEOPLE, DevPerson
from services.web.session import SignedInPerson

DEV_TOKEN_TTL_S = 8 * 3600


class SignInFailed(Exception):
    """The provider's answer did not sign anyone in; the message is safe to show."""


class SignInProvider(Protocol):
    async def start(self, request: Request, redirect_uri: str) -> Response: ...

    async def complete(self, request: Request) -> SignedInPerson: ...


class DevSignIn:
    def __init__(self, settings: WebSettings, people: tuple[DevPerson, ...] = DEV_PEOPLE) -> None:
        if not settings.development:
            raise RuntimeError("the development sign-in exists only when TAC_ENVIRONMENT=development")
        self.people = people
        self._settings = settings

    def person(self, key: str) -> SignedInPerson | None:
        chosen = next((p for p in self.people if p.key == key), None)
        if chosen is None:
            return None
        children = self._settings.parent_children_now() if chosen.agency.value == "parent" else ()
        token = issue_token(
            dev_private_key_pem(), practitioner=chosen.key, organisation=chosen.organisation_id,
            agency=chosen.agency, role=chosen.role, children=children, ttl_s=DEV_TOKEN_TTL_S,
            issuer=self._settings.jwt_issuer, audience=self._settings.jwt_audience,
        )
        principal = Principal(practitioner_id=chosen.key, organisation_id=chosen.organisation_id,
                              agency=chosen.agency, role=chosen.role, children=frozenset(children))
        return SignedInPerson.from_principal(principal, name=chosen.name, organisation_name=chosen.organisation,
                                             access_token=token)


class OidcSignIn:
    def __init__(self, settings: WebSettings, verifier: TokenVerifier) -> None:
        assert settings.oidc_issuer and settings.oidc_client_id
        self._verifier = verifier
        oauth = OAuth()
        self._client = oauth.register(
            "tac",
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret,
            server_metadata_url=f"{settings.oidc_issuer.rstrip('/')}/.well-known/openid-configuration",
            client_kwargs={"scope": "openid profile", "code_challenge_method": "S256"},
        )

    async def start(self, request: Request, redirect_uri: str) -> Response:
        try:
            # Asks the provider for its metadata (once; Authlib keeps it).
            return await self._client.authorize_redirect(request, redirect_uri)
        except (httpx.HTTPError, ValueError) as e:  # unreachable, or not answering as a provider does
            raise ServiceUnavailable("identity provider", type(e).__name__) from None

    async def complete(self, request: Request) -> SignedInPerson:
        try:
            token = await self._client.authorize_access_token(request)
        except httpx.HTTPError as e:
            raise ServiceUnavailable("identity provider", type(e).__name__) from None
        # Refused, a state that does not match, an answer that is not a token (ValueError), an ID
        # token that does not verify: signed by another key, expired, for another client
        # (Authlib checks it with joserfc, whose errors are not Authlib's).
        except (AuthlibBaseError, JoseError, ValueError):
            raise SignInFailed("The sign-in did not complete. Try again.") from None
        access_token = token.get("access_token")
        if not isinstance(access_token, str):
            raise SignInFailed("The identity provider gave no access token.")
        try:
            # Sync, and may fetch the provider's keys: off the event loop.
            principal = await run_in_threadpool(self._verifier.verify, access_token)
        except AuthError:
            raise SignInFailed("Your account is not set up to use TAC. Ask your organisation's administrator.") from None
        userinfo = token.get("userinfo") or {}
        name = str(userinfo.get("name") or userinfo.get("preferred_username") or principal.practitioner_id)
        org_name = userinfo.get("organisation_name") or userinfo.get("org_name")
        return SignedInPerson.from_principal(principal, name=name, organisation_name=org_name,
                                             access_token=access_token)
