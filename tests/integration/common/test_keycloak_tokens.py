"""Real tokens from the local Keycloak (scripts/idp.sh, realm deploy/keycloak/tac-realm.json)
verified as the APIs verify them: keys from Keycloak's JWKS, issuer and audience checked."""

from __future__ import annotations

from uuid import uuid4

import httpx
import pytest

from demo.cast import CAST
from schemas.vocabulary import Agency
from services.common.auth import AuthError, Principal, TokenVerifier
from services.common.settings import BaseServiceSettings
from tests.idp import Idp, ensure_idp_up


class _Settings(BaseServiceSettings):
    model_config = {**BaseServiceSettings.model_config, "env_prefix": "TAC_IDPTEST_"}


@pytest.fixture(scope="module")
def idp() -> Idp:
    """`make test` starts Keycloak (make idp-up); this starts it when run alone. Never skips."""
    try:
        return ensure_idp_up()
    except Exception as exc:  # noqa: BLE001 - a clear failure, not an error deep in a test
        pytest.fail(f"Keycloak did not come up: {exc}")


@pytest.fixture(scope="module")
def verifier(idp: Idp, monkeypatch_module) -> TokenVerifier:
    # Built from the environment exactly as each service's bootstrap builds it.
    for name, value in idp.api_env().items():
        monkeypatch_module.setenv(name, value)
    return TokenVerifier.from_settings(_Settings(database_url="sqlite://"))


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


@pytest.mark.parametrize("person", [p for p in CAST if p.agency is not Agency.PARENT], ids=lambda p: p.key)
def test_a_keycloak_token_of_each_practitioner_yields_their_principal(idp, verifier, person):
    principal = verifier.verify(idp.password_token(person.key))

    assert principal == Principal(practitioner_id=person.key, organisation_id=person.organisation_id,
                                  agency=person.agency, role=person.role)


def test_a_parents_children_set_through_the_admin_api_reach_their_token(idp, verifier):
    children = {uuid4(), uuid4()}
    idp.set_children("ada-okoro", children)
    try:
        principal = verifier.verify(idp.password_token("ada-okoro"))
    finally:
        idp.set_children("ada-okoro", [])

    assert principal.is_parent and principal.organisation_id is None
    assert principal.practitioner_id == "ada-okoro" and principal.children == frozenset(children)
    assert verifier.verify(idp.password_token("ada-okoro")).children == frozenset()


def test_the_added_people_kit_ward_and_the_safeguarding_lead_sign_in(idp, verifier):
    assert verifier.verify(idp.password_token("kit-ward")) == Principal(
        practitioner_id="kit-ward", organisation_id="westshire-inclusion", agency=Agency.AREA_SENCO, role="area_senco")
    assert verifier.verify(idp.password_token("hannah-price")) == Principal(
        practitioner_id="hannah-price", organisation_id="sunflower-nursery", agency=Agency.SETTING,
        role="designated_safeguarding_lead")


def test_a_keycloak_token_is_refused_by_apis_expecting_another_issuer(idp):
    other = TokenVerifier(issuer="tac-dev", audience="tac", jwks_url=idp.jwks_url)

    with pytest.raises(AuthError, match="issuer"):
        other.verify(idp.password_token("dana-hughes"))


def test_a_wrong_password_gets_no_token(idp):
    with pytest.raises(httpx.HTTPStatusError):
        idp.password_token("dana-hughes", password="not-the-password")
