"""The local Keycloak of `scripts/idp.sh` for tests: start it once, get real tokens, and set a
parent's `children` (unknown until the test has created the child) through the admin REST API.

Every fact (clients, secrets, the development password) is read from
deploy/keycloak/tac-realm.json, so tests and the realm file cannot drift apart.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from uuid import UUID

import httpx

ROOT = Path(__file__).resolve().parents[1]
IDP_SCRIPT = ROOT / "scripts" / "idp.sh"
REALM_FILE = ROOT / "deploy" / "keycloak" / "tac-realm.json"

WEB_CLIENT_ID = "tac-web"  # authorization code + PKCE: services/web
TESTS_CLIENT_ID = "tac-tests"  # direct access grants: tests and curl only


def realm() -> dict:
    return json.loads(REALM_FILE.read_text(encoding="utf-8"))


def client_secret(client_id: str) -> str:
    return next(c["secret"] for c in realm()["clients"] if c["clientId"] == client_id)


def dev_password(username: str) -> str:
    user = next(u for u in realm()["users"] if u["username"] == username)
    return next(c["value"] for c in user["credentials"] if c["type"] == "password")


@dataclass(frozen=True)
class Idp:
    """The running Keycloak. `base_url` is what scripts/idp.sh serves (TAC_IDP_PORT)."""

    base_url: str = f"http://127.0.0.1:{os.environ.get('TAC_IDP_PORT', '8380')}"
    realm_name: str = "tac"
    admin_username: str = os.environ.get("KC_BOOTSTRAP_ADMIN_USERNAME", "admin")
    admin_password: str = os.environ.get("KC_BOOTSTRAP_ADMIN_PASSWORD", "admin")

    @property
    def issuer(self) -> str:
        """What TAC_JWT_ISSUER and TAC_WEB_OIDC_ISSUER are set to."""
        return f"{self.base_url}/realms/{self.realm_name}"

    @property
    def jwks_url(self) -> str:
        """What TAC_JWT_JWKS_URL is set to."""
        return f"{self.issuer}/protocol/openid-connect/certs"

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/token"

    @cached_property
    def web_client_secret(self) -> str:
        return client_secret(WEB_CLIENT_ID)

    def api_env(self) -> dict[str, str]:
        """The environment under which the APIs (and the web) verify this Keycloak's tokens."""
        return {"TAC_JWT_JWKS_URL": self.jwks_url, "TAC_JWT_ISSUER": self.issuer, "TAC_JWT_AUDIENCE": "tac"}

    def web_oidc_env(self) -> dict[str, str]:
        """The web service's OIDC settings (services/web/config.py) for client tac-web."""
        return {"TAC_WEB_OIDC_ISSUER": self.issuer, "TAC_WEB_OIDC_CLIENT_ID": WEB_CLIENT_ID,
                "TAC_WEB_OIDC_CLIENT_SECRET": self.web_client_secret, **self.api_env()}

    def password_token(self, username: str, password: str | None = None) -> str:
        """An access token for one of the realm's people (direct grant through tac-tests)."""
        response = httpx.post(self.token_url, timeout=10, data={
            "grant_type": "password", "client_id": TESTS_CLIENT_ID, "client_secret": client_secret(TESTS_CLIENT_ID),
            "username": username, "password": password or dev_password(username), "scope": "openid",
        })
        response.raise_for_status()
        return response.json()["access_token"]

    def _admin_headers(self) -> dict[str, str]:
        response = httpx.post(f"{self.base_url}/realms/master/protocol/openid-connect/token", timeout=10, data={
            "grant_type": "password", "client_id": "admin-cli",
            "username": self.admin_username, "password": self.admin_password,
        })
        response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def set_children(self, username: str, children: Iterable[UUID | str]) -> None:
        """Sets a parent's `children` attribute (their token's `children` claim from the next
        sign-in on). The realm file leaves it empty: a child's id exists only once created."""
        headers = self._admin_headers()
        users_url = f"{self.base_url}/admin/realms/{self.realm_name}/users"
        found = httpx.get(users_url, params={"username": username, "exact": "true"}, headers=headers, timeout=10)
        found.raise_for_status()
        (user,) = found.json()
        user.setdefault("attributes", {})["children"] = [str(c) for c in children]
        httpx.put(f"{users_url}/{user['id']}", json=user, headers=headers, timeout=10).raise_for_status()


def ensure_idp_up(timeout_s: float = 300) -> Idp:
    """`scripts/idp.sh up` (a no-op when it is up); raises with its output when it fails."""
    result = subprocess.run([str(IDP_SCRIPT), "up"], cwd=ROOT, capture_output=True, text=True, timeout=timeout_s)
    if result.returncode != 0:
        raise RuntimeError(f"scripts/idp.sh up failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return Idp()
