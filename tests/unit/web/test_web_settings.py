from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.web.config import WebSettings

PRODUCTION = dict(environment="production", jwt_jwks_url="https://idp.example/jwks", oidc_issuer="https://idp.example",
                  oidc_client_id="tac-web", oidc_client_secret="s3cret")


def test_the_development_session_secret_is_refused_outside_development():
    with pytest.raises(ValidationError, match="TAC_WEB_SESSION_SECRET"):
        WebSettings(**PRODUCTION)
    with pytest.raises(ValidationError, match="TAC_WEB_SESSION_SECRET"):
        WebSettings(environment="test")


def test_outside_development_an_identity_provider_is_needed():
    with pytest.raises(ValidationError, match="TAC_WEB_OIDC_ISSUER"):
        WebSettings(environment="test", session_secret="x" * 40)
    with pytest.raises(ValidationError, match="TAC_WEB_OIDC_CLIENT_ID"):
        WebSettings(**{**PRODUCTION, "oidc_client_id": None}, session_secret="x" * 40)
    with pytest.raises(ValidationError, match="https"):
        WebSettings(**{**PRODUCTION, "oidc_issuer": "http://idp.example"}, session_secret="x" * 40)
    assert WebSettings(**PRODUCTION, session_secret="x" * 40).oidc_issuer == "https://idp.example"


def test_the_parents_children_for_development_are_child_ids(monkeypatch):
    monkeypatch.setenv("TAC_WEB_DEV_PARENT_CHILDREN", "7c9e6679-7425-40de-944b-e07fc1f66afe, ")
    assert [str(c) for c in WebSettings().parent_children] == ["7c9e6679-7425-40de-944b-e07fc1f66afe"]
    monkeypatch.setenv("TAC_WEB_DEV_PARENT_CHILDREN", "amara")
    with pytest.raises(ValidationError):
        WebSettings()
