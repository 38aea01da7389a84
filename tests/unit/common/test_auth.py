"""Bearer JWT verification: every way a token can be wrong is refused with a reason."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta, timezone
from uuid import UUID, uuid4

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from schemas.envelope import Actor
from schemas.vocabulary import Agency
from services.common.auth import AuthError, Principal, TokenVerifier, dev_public_key_pem
from services.common.dev_tokens import dev_private_key_pem, issue_token

ISSUER, AUDIENCE = "tac-dev", "tac"


@pytest.fixture(scope="module")
def verifier() -> TokenVerifier:
    return TokenVerifier(issuer=ISSUER, audience=AUDIENCE, public_key_pem=dev_public_key_pem())


def practitioner_token(**overrides) -> str:
    kwargs = dict(
        practitioner="sam-senco", organisation="org-sunflowers", agency=Agency.SETTING, role="senco",
        issuer=ISSUER, audience=AUDIENCE,
    )
    kwargs.update(overrides)
    private_key = kwargs.pop("private_key", dev_private_key_pem())
    return issue_token(private_key, **kwargs)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made_token(header: dict, claims: dict, sign=lambda signing_input: b"") -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(sign(signing_input.encode()))}"


def valid_claims() -> dict:
    now = int(time.time())
    return {"iss": ISSUER, "aud": AUDIENCE, "sub": "sam-senco", "iat": now, "exp": now + 600,
            "org": "org-sunflowers", "agency": "setting", "role": "senco"}


def rejection(verifier: TokenVerifier, token: str | None) -> str:
    with pytest.raises(AuthError) as caught:
        verifier.verify(token)
    return caught.value.reason


def test_a_good_token_gives_the_principal_it_names(verifier):
    principal = verifier.verify(practitioner_token())

    assert principal == Principal(
        practitioner_id="sam-senco", organisation_id="org-sunflowers", agency=Agency.SETTING, role="senco"
    )
    assert principal.children == frozenset()
    assert not principal.is_parent


def test_a_parent_token_carries_the_children_they_hold_parental_responsibility_for(verifier):
    children = {uuid4(), uuid4()}
    token = practitioner_token(practitioner="parent-amy", organisation=None, agency=Agency.PARENT,
                               role="parent", children=children)

    principal = verifier.verify(token)

    assert principal.is_parent
    assert principal.organisation_id is None
    assert principal.children == frozenset(children)


@pytest.mark.parametrize("token", [None, "", "   "])
def test_a_missing_token_is_rejected(verifier, token):
    assert rejection(verifier, token) == "missing bearer token"


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", "eyJhbGciOiJSUzI1NiJ9..", "x" * 9000])
def test_a_garbled_token_is_rejected(verifier, token):
    assert rejection(verifier, token) in {"token is malformed", "token is too long", "token signature is invalid"}


def test_a_token_signed_with_another_key_is_rejected(verifier):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )

    assert rejection(verifier, practitioner_token(private_key=other_pem)) == "token signature is invalid"


def test_an_unsigned_alg_none_token_is_rejected(verifier):
    token = hand_made_token({"alg": "none", "typ": "JWT"}, valid_claims())

    assert "algorithm is not accepted" in rejection(verifier, token)


def test_an_hs256_token_signed_with_the_public_key_as_the_secret_is_rejected(verifier):
    secret = dev_public_key_pem()
    token = hand_made_token(
        {"alg": "HS256", "typ": "JWT"}, valid_claims(),
        sign=lambda signing_input: hmac.new(secret, signing_input, hashlib.sha256).digest(),
    )

    assert "algorithm is not accepted" in rejection(verifier, token)


def test_a_token_for_another_audience_is_rejected(verifier):
    assert rejection(verifier, practitioner_token(audience="someone-else")) == "token audience is not accepted"


def test_a_token_from_another_issuer_is_rejected(verifier):
    assert rejection(verifier, practitioner_token(issuer="https://evil.example")) == "token issuer is not accepted"


def test_an_expired_token_is_rejected(verifier):
    two_hours_ago = datetime.now(timezone.utc) - timedelta(hours=2)

    assert rejection(verifier, practitioner_token(ttl_s=60, now=two_hours_ago)) == "token has expired"


@pytest.mark.parametrize("claim", ["exp", "iat", "sub", "iss", "aud"])
def test_a_token_without_a_required_claim_is_rejected(verifier, claim):
    claims = valid_claims()
    del claims[claim]
    token = jwt.encode(claims, dev_private_key_pem(), algorithm="RS256")

    assert rejection(verifier, token) == f"token lacks the {claim!r} claim"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"agency": "wizard"}, "'agency'"),
        ({"agency": None}, "'agency' is missing"),
        ({"role": ""}, "'role'"),
        ({"org": None}, "'org' is required"),
        ({"children": [str(uuid4())]}, "only a parent carries 'children'"),
        ({"children": "not-a-list"}, "'children' must be a list"),
        ({"agency": "parent", "org": "org-x"}, "'org' must be absent"),
        ({"agency": "parent", "org": None, "children": ["not-a-uuid"]}, "'children'"),
    ],
)
def test_a_token_with_invalid_tac_claims_is_rejected_naming_the_claim(verifier, change, expected):
    claims = {**valid_claims(), **change}
    claims = {k: v for k, v in claims.items() if v is not None}
    token = jwt.encode(claims, dev_private_key_pem(), algorithm="RS256")

    reason = rejection(verifier, token)

    assert expected in reason
    assert "wizard" not in reason and "not-a-uuid" not in reason  # claim values are never echoed


@pytest.mark.parametrize("algorithms", [("none",), ("HS256",), ("RS256", "HS512"), ()])
def test_a_verifier_refuses_an_allow_list_with_hmac_or_none(algorithms):
    with pytest.raises(ValueError):
        TokenVerifier(issuer=ISSUER, audience=AUDIENCE, public_key_pem=dev_public_key_pem(), algorithms=algorithms)


def test_a_verifier_needs_exactly_one_key_source():
    with pytest.raises(ValueError):
        TokenVerifier(issuer=ISSUER, audience=AUDIENCE)
    with pytest.raises(ValueError):
        TokenVerifier(issuer=ISSUER, audience=AUDIENCE, public_key_pem=dev_public_key_pem(),
                      jwks_url="https://idp.example/jwks")


def test_a_verifier_refuses_a_private_key_or_garbage_as_its_public_key():
    with pytest.raises(ValueError):
        TokenVerifier(issuer=ISSUER, audience=AUDIENCE, public_key_pem=dev_private_key_pem())
    with pytest.raises(ValueError):
        TokenVerifier(issuer=ISSUER, audience=AUDIENCE, public_key_pem="not a key")


def test_a_principal_becomes_the_actor_of_the_events_it_causes():
    principal = Principal(practitioner_id="ep-1", organisation_id="org-ep", agency=Agency.EP_SERVICE, role="ep")

    assert principal.as_actor() == Actor(
        practitioner_id="ep-1", organisation_id="org-ep", agency=Agency.EP_SERVICE, role="ep"
    )


def test_no_token_can_be_issued_for_a_parent_acting_for_an_organisation():
    with pytest.raises(ValueError):
        practitioner_token(agency=Agency.PARENT, organisation="org-x", role="parent")


def test_a_jwks_verifier_is_built_without_fetching_anything():
    verifier = TokenVerifier(issuer=ISSUER, audience=AUDIENCE, jwks_url="https://idp.invalid/jwks")

    assert verifier.algorithms == ("RS256",)


# ------------------------------------------------- tokens as Keycloak issues them (realm tac)

KEYCLOAK_ISSUER = "http://127.0.0.1:8380/realms/tac"


def keycloak_claims(**tac_claims) -> dict:
    """An access token's claims as Keycloak 26 writes them for client tac-web
    (deploy/keycloak/tac-realm.json): its own user UUID as `sub`, TAC's id in `practitioner_id`,
    and the claims Keycloak adds on its own."""
    now = int(time.time())
    return {
        "exp": now + 900, "iat": now, "auth_time": now, "jti": f"onrtac:{uuid4()}", "iss": KEYCLOAK_ISSUER,
        "aud": ["tac", "account"], "sub": str(uuid4()), "typ": "Bearer", "azp": "tac-web", "sid": str(uuid4()),
        "acr": "1", "allowed-origins": [], "realm_access": {"roles": ["default-roles-tac"]},
        "scope": "openid profile email", "email_verified": True, "name": "Dana Hughes",
        "preferred_username": "dana-hughes", "given_name": "Dana", "family_name": "Hughes",
        "email": "dana.hughes@northbridge-inclusion.example", "org_name": "Northbridge Early Years Inclusion",
        **tac_claims,
    }


DANA_CLAIMS = {"practitioner_id": "dana-hughes", "org": "northbridge-inclusion", "agency": "area_senco",
               "role": "area_senco"}


@pytest.fixture(scope="module")
def keycloak_verifier() -> TokenVerifier:
    return TokenVerifier(issuer=KEYCLOAK_ISSUER, audience=AUDIENCE, public_key_pem=dev_public_key_pem())


def keycloak_token(claims: dict) -> str:
    return jwt.encode(claims, dev_private_key_pem(), algorithm="RS256", headers={"typ": "JWT", "kid": "kc-key-1"})


def test_a_keycloak_token_names_the_practitioner_by_its_practitioner_id_claim_not_keycloaks_sub(keycloak_verifier):
    principal = keycloak_verifier.verify(keycloak_token(keycloak_claims(**DANA_CLAIMS)))

    assert principal == Principal(practitioner_id="dana-hughes", organisation_id="northbridge-inclusion",
                                  agency=Agency.AREA_SENCO, role="area_senco")


def test_a_keycloak_parent_token_carries_children_as_a_json_array(keycloak_verifier):
    children = [str(uuid4()), str(uuid4())]
    claims = keycloak_claims(practitioner_id="ada-okoro", agency="parent", role="parent", children=children)

    principal = keycloak_verifier.verify(keycloak_token(claims))

    assert principal.is_parent and principal.practitioner_id == "ada-okoro"
    assert principal.children == frozenset(UUID(c) for c in children)


def test_a_keycloak_parent_whose_children_attribute_is_empty_has_no_children(keycloak_verifier):
    # Keycloak leaves an empty multivalued attribute out of the token altogether.
    claims = keycloak_claims(practitioner_id="ada-okoro", agency="parent", role="parent")

    assert keycloak_verifier.verify(keycloak_token(claims)).children == frozenset()


def test_without_a_practitioner_id_claim_the_sub_is_the_practitioner(keycloak_verifier):
    claims = keycloak_claims(**{k: v for k, v in DANA_CLAIMS.items() if k != "practitioner_id"})

    assert keycloak_verifier.verify(keycloak_token(claims)).practitioner_id == claims["sub"]


@pytest.mark.parametrize(("value", "expected"), [(["dana", "hughes"], "'practitioner_id' must be a string"),
                                                 ("", "'practitioner_id'")])
def test_a_bad_practitioner_id_claim_is_rejected_naming_that_claim(keycloak_verifier, value, expected):
    reason = rejection(keycloak_verifier, keycloak_token(keycloak_claims(**{**DANA_CLAIMS, "practitioner_id": value})))

    assert expected in reason and "'sub'" not in reason


def test_a_keycloak_token_without_the_tac_audience_is_rejected(keycloak_verifier):
    claims = {**keycloak_claims(**DANA_CLAIMS), "aud": "account"}

    assert rejection(keycloak_verifier, keycloak_token(claims)) == "token audience is not accepted"


def test_a_keycloak_token_is_verified_with_the_key_from_the_jwks_it_names_by_kid(monkeypatch):
    public = jwt.algorithms.RSAAlgorithm.to_jwk(serialization.load_pem_public_key(dev_public_key_pem()), as_dict=True)
    other = jwt.algorithms.RSAAlgorithm.to_jwk(
        rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key(), as_dict=True)
    jwks = {"keys": [{**other, "kid": "kc-enc", "use": "sig", "alg": "RS256"},
                     {**public, "kid": "kc-key-1", "use": "sig", "alg": "RS256"}]}
    verifier = TokenVerifier(issuer=KEYCLOAK_ISSUER, audience=AUDIENCE,
                             jwks_url=f"{KEYCLOAK_ISSUER}/protocol/openid-connect/certs")
    monkeypatch.setattr(verifier._jwks, "fetch_data", lambda: jwks)

    assert verifier.verify(keycloak_token(keycloak_claims(**DANA_CLAIMS))).practitioner_id == "dana-hughes"
