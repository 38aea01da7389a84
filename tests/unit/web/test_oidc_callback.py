"""The OpenID Connect callback (services/web/signin.py) with Authlib's own ID-token checks: only
the provider's token endpoint is stood in for, answering with an ID token signed here. An ID
token that does not verify is "the sign-in did not complete", never a 500."""

from __future__ import annotations

import time

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.requests import Request

from services.common.auth import AuthError
from services.web.config import WebSettings
from services.web.signin import OidcSignIn, SignInFailed

ISSUER = "http://idp.example/realms/tac"
PROVIDERS_KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
ANOTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})


class RefusesEveryAccessToken:
    def verify(self, token: str):
        raise AuthError("not one of ours")


def _claims(**changes) -> dict:
    now = int(time.time())
    return {"iss": ISSUER, "aud": "tac-web", "sub": "someone", "iat": now, "exp": now + 300, "nonce": "n", **changes}


async def _complete(id_token_key: RSAKey, claims: dict) -> None:
    settings = WebSettings(environment="test", session_secret="s" * 40, oidc_issuer=ISSUER,
                           oidc_client_id="tac-web", oidc_client_secret="secret")
    sign_in = OidcSignIn(settings, RefusesEveryAccessToken())  # type: ignore[arg-type]
    client = sign_in._client
    client.server_metadata.update({"_loaded_at": time.time(), "issuer": ISSUER, "token_endpoint": f"{ISSUER}/token",
                                   "jwks": {"keys": [PROVIDERS_KEY.as_dict(private=False)]}})
    id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, id_token_key)

    async def token_endpoint(**_):
        return {"access_token": "a", "id_token": id_token, "token_type": "Bearer"}

    client.fetch_access_token = token_endpoint
    request = Request({"type": "http", "method": "GET", "query_string": b"code=c&state=st", "headers": [],
                       "session": {}})
    await client.framework.set_state_data(request.session, "st",
                                          {"redirect_uri": "http://web/auth/callback", "nonce": "n", "code_verifier": "v"})
    await sign_in.complete(request)


@pytest.mark.parametrize(("key", "claims"), [
    (ANOTHER_KEY, _claims()),                                   # signed by another key
    (PROVIDERS_KEY, _claims(exp=int(time.time()) - 1000)),      # expired (or a clock far off)
    (PROVIDERS_KEY, _claims(aud="another-client")),             # for another client
], ids=["another-key", "expired", "another-client"])
async def test_an_id_token_that_does_not_verify_is_a_sign_in_that_did_not_complete(key, claims):
    with pytest.raises(SignInFailed, match="did not complete"):
        await _complete(key, claims)


async def test_an_id_token_that_verifies_goes_on_to_the_access_token_check():
    with pytest.raises(SignInFailed, match="not set up to use TAC"):
        await _complete(PROVIDERS_KEY, _claims())
