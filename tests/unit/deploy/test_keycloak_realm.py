"""deploy/keycloak/tac-realm.json checked by reading it (no Keycloak needed): everyone of
demo/cast.py can sign in as themselves, and client tac-web issues the claims TAC verifies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from demo.cast import CAST
from schemas.vocabulary import Agency

REALM = json.loads((Path(__file__).resolve().parents[3] / "deploy" / "keycloak" / "tac-realm.json").read_text())
USERS = {u["username"]: u for u in REALM["users"]}
CLIENTS = {c["clientId"]: c for c in REALM["clients"]}
TAC_CLAIMS = {"practitioner_id", "org", "agency", "role", "children"}


def attribute(user: dict, name: str) -> str | None:
    values = user.get("attributes", {}).get(name)
    return values[0] if values else None


@pytest.mark.parametrize("person", CAST, ids=lambda p: p.key)
def test_every_person_of_the_cast_is_a_user_with_their_tac_identity(person):
    user = USERS[person.key]

    assert user["enabled"] and not user.get("requiredActions")
    assert attribute(user, "practitioner_id") == person.key
    assert attribute(user, "org") == person.organisation_id
    assert attribute(user, "agency") == person.agency.value
    assert attribute(user, "role") == person.role
    assert f"{user['firstName']} {user['lastName']}" in person.name.replace("Dr ", "")
    assert [c["type"] for c in user["credentials"]] == ["password"] and not user["credentials"][0]["temporary"]


def test_only_parents_carry_children_and_none_is_set_in_the_file():
    for user in REALM["users"]:
        assert not user.get("attributes", {}).get("children"), user["username"]
        if attribute(user, "agency") == Agency.PARENT.value:
            assert attribute(user, "org") is None


def test_every_agency_and_organisation_name_is_one_tac_knows():
    for user in REALM["users"]:
        Agency(attribute(user, "agency"))
        assert (attribute(user, "org") is None) == (attribute(user, "org_name") is None)


def test_the_web_client_uses_the_code_flow_with_pkce_s256_and_loopback_callbacks_only():
    web = CLIENTS["tac-web"]

    assert web["standardFlowEnabled"] and not web["publicClient"]
    assert not web["directAccessGrantsEnabled"] and not web["implicitFlowEnabled"]
    assert web["attributes"]["pkce.code.challenge.method"] == "S256"
    # Port-less loopback URIs: Keycloak accepts any port on them (RFC 8252 §7.3).
    assert sorted(web["redirectUris"]) == ["http://127.0.0.1/auth/callback", "http://localhost/auth/callback"]


@pytest.mark.parametrize("client_id", ["tac-web", "tac-tests"])
def test_each_client_puts_tacs_claims_and_audience_in_the_access_token(client_id):
    mappers = CLIENTS[client_id]["protocolMappers"]
    attribute_claims = {m["config"]["claim.name"]: m["config"] for m in mappers
                        if m["protocolMapper"] == "oidc-usermodel-attribute-mapper"}
    audiences = [m["config"] for m in mappers if m["protocolMapper"] == "oidc-audience-mapper"]

    assert TAC_CLAIMS <= set(attribute_claims)
    assert all(attribute_claims[c]["access.token.claim"] == "true" for c in TAC_CLAIMS)
    assert attribute_claims["children"]["multivalued"] == "true"
    assert [a["included.custom.audience"] for a in audiences] == ["tac"]
    assert audiences[0]["access.token.claim"] == "true"


def test_the_user_profile_declares_tacs_attributes_so_the_admin_api_can_set_them():
    (provider,) = REALM["components"]["org.keycloak.userprofile.UserProfileProvider"]
    profile = json.loads(provider["config"]["kc.user.profile.config"][0])
    declared = {a["name"]: a for a in profile["attributes"]}

    assert TAC_CLAIMS | {"org_name"} <= set(declared)
    assert declared["children"]["multivalued"]
    assert all(declared[a]["permissions"]["edit"] == ["admin"] for a in TAC_CLAIMS)
