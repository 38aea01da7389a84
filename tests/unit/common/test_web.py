"""The shared FastAPI shell, through a tiny app made with create_app (no broker, no DB)."""

from __future__ import annotations

from uuid import uuid4

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from pydantic import BaseModel
from pydantic_settings import SettingsConfigDict

from schemas.vocabulary import Agency
from services.common.dev_tokens import dev_private_key_pem, issue_token
from services.common.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from services.common.logging import get_correlation_id
from services.common.settings import BaseServiceSettings
from services.common.web import CurrentPrincipal, create_app


class TinySettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TAC_TINY_")


class Count(BaseModel):
    count: int


router = APIRouter()


@router.get("/me")
def me(principal: CurrentPrincipal) -> dict:
    return principal.model_dump(mode="json")


@router.get("/children/{child_id}/correlation")
async def correlation(child_id: str) -> dict:
    return {"correlation_id": get_correlation_id()}


ERRORS = {
    "not-found": NotFound("no such referral"),
    "conflict": Conflict("the referral is already closed"),
    "forbidden": Forbidden("only the area SENCO may accept"),
    "invalid": Invalid("must be in the future", field="expires_at"),
    "plain": DomainError("refused"),
}


@router.post("/refuse/{kind}")
def refuse(kind: str) -> None:
    raise ERRORS[kind]


@router.get("/crash")
def crash() -> None:
    raise RuntimeError("password=hunter2 at /srv/internal/db.py")


@router.post("/count")
def count(body: Count) -> dict:
    return {"count": body.count}


@router.get("/count")
def current_count() -> dict:
    return {"count": 0}


@pytest.fixture
def app(monkeypatch):
    for name in ("TAC_ENVIRONMENT", "TAC_JWT_ISSUER", "TAC_JWT_AUDIENCE", "TAC_JWT_PUBLIC_KEY_PEM_PATH", "TAC_JWT_JWKS_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = TinySettings(environment="test", database_url="sqlite://")
    return create_app(title="tiny", service="tiny", settings=settings, routers=[router])


@pytest.fixture
def client(app):
    with TestClient(app) as client:
        yield client


def bearer(**overrides) -> dict[str, str]:
    claims = dict(practitioner="hv-1", organisation="org-nhs-hv", agency=Agency.HEALTH_VISITING, role="hv",
                  issuer="tac-dev", audience="tac")
    claims.update(overrides)
    return {"Authorization": f"Bearer {issue_token(dev_private_key_pem(), **claims)}"}


def test_a_request_without_a_token_gets_401_with_a_bearer_challenge(client):
    response = client.get("/me")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {"type": "about:blank", "title": "Unauthorized", "status": 401,
                               "detail": "missing bearer token"}


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Authorization": "Bearer not.a.token"}, "token is malformed"),
        ({"Authorization": "Basic aGk6dGhlcmU="}, "missing bearer token"),
        (bearer(audience="elsewhere"), "token audience is not accepted"),
    ],
)
def test_a_request_with_a_bad_token_gets_401_with_the_reason(client, headers, reason):
    response = client.get("/me", headers=headers)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"type": "about:blank", "title": "Unauthorized", "status": 401, "detail": reason}


def test_a_request_with_a_good_token_gets_200_as_that_principal(client):
    response = client.get("/me", headers=bearer())

    assert response.status_code == 200
    assert response.json() == {"practitioner_id": "hv-1", "organisation_id": "org-nhs-hv",
                               "agency": "health_visiting", "role": "hv", "children": []}


def test_the_correlation_id_sent_is_bound_for_the_handler_and_echoed(client):
    response = client.get(f"/children/{uuid4()}/correlation", headers={"X-Correlation-ID": "req-42"})

    assert response.headers["X-Correlation-ID"] == "req-42"
    assert response.json() == {"correlation_id": "req-42"}


@pytest.mark.parametrize("sent", [None, "has spaces and \"quotes\"", "x" * 300])
def test_a_fresh_correlation_id_replaces_a_missing_or_unsafe_one(client, sent):
    headers = {"X-Correlation-ID": sent} if sent else {}

    response = client.get(f"/children/{uuid4()}/correlation", headers=headers)

    echoed = response.headers["X-Correlation-ID"]
    assert echoed and echoed != sent
    assert response.json() == {"correlation_id": echoed}


@pytest.mark.parametrize(
    ("kind", "status", "field"),
    [("not-found", 404, None), ("conflict", 409, None), ("forbidden", 403, None),
     ("invalid", 422, "expires_at"), ("plain", 400, None)],
)
def test_a_domain_error_maps_to_its_status_with_the_field(client, kind, status, field):
    response = client.post(f"/refuse/{kind}")

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["type"].startswith("urn:tac:problem:") and problem["title"]
    assert problem["detail"] == ERRORS[kind].detail
    assert problem.get("field") == field


def test_an_unexpected_error_is_a_clean_500_that_leaks_nothing(client):
    response = client.get("/crash", headers={"X-Correlation-ID": "req-crash"})

    assert response.status_code == 500
    assert response.json() == {"type": "about:blank", "title": "Internal Server Error", "status": 500,
                               "detail": "internal server error", "correlation_id": "req-crash"}
    assert response.headers["X-Correlation-ID"] == "req-crash"
    assert "hunter2" not in response.text and "RuntimeError" not in response.text


def test_a_validation_error_is_a_422_naming_the_field(client):
    response = client.post("/count", json={"count": "lots"})

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert (problem["type"], problem["status"], problem["field"]) == ("urn:tac:problem:invalid-request", 422, "count")
    assert problem["detail"].startswith("count: ")
    assert problem["errors"][0]["loc"] == ["body", "count"] and problem["errors"][0]["field"] == "count"
    assert "lots" not in response.text  # the input is never echoed


@pytest.mark.parametrize(
    "body",
    [b'{"count": NaN}', b'{"count": Infinity}', b'{"count": "\xff\xfe"}', b"\xff\xfe{not json"],
)
def test_a_validation_error_about_odd_input_is_still_a_json_4xx(client, body):
    response = client.post("/count", content=body, headers={"Content-Type": "application/json"})

    assert response.status_code in (400, 422)
    assert "detail" in response.json()


def test_health_answers_without_authentication(client):
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "tiny", "version": "1"}


def test_ready_follows_the_readiness_check(app, client):
    assert client.get("/ready").status_code == 200

    app.state.readiness = lambda: False
    assert client.get("/ready").status_code == 503

    async def broken() -> bool:
        raise ConnectionError("database down")

    app.state.readiness = broken
    not_ready = client.get("/ready")
    assert not_ready.status_code == 503
    assert not_ready.headers["content-type"] == "application/problem+json"
    assert not_ready.json() == {
        "type": "urn:tac:problem:not-ready", "title": "The service is not ready", "status": 503,
        "detail": "readiness: the readiness check failed (ConnectionError)", "service": "tiny",
        "failing": {"readiness": "the readiness check failed (ConnectionError)"},
    }

    async def database_down() -> dict[str, str]:
        return {"database": "OperationalError"}

    app.state.readiness = database_down
    named = client.get("/ready")
    assert named.status_code == 503 and named.json()["failing"] == {"database": "OperationalError"}
    assert named.json()["detail"] == "database: OperationalError"

    async def nothing_failing() -> dict[str, str]:
        return {}

    app.state.readiness = nothing_failing
    assert client.get("/ready").status_code == 200

    async def fine() -> bool:
        return True

    app.state.readiness = fine
    assert client.get("/ready").status_code == 200


def test_metrics_expose_requests_by_route_template(client):
    client.get(f"/children/{uuid4()}/correlation")

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'tac_http_requests_total{method="GET",route="/children/{child_id}/correlation",service="tiny",status="200"}' in response.text
    assert "tac_http_request_duration_seconds_bucket" in response.text


def test_interactive_docs_are_off_in_production(monkeypatch, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    pem = tmp_path / "prod.pem"
    pem.write_bytes(key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    settings = TinySettings(environment="production", database_url="sqlite://", jwt_public_key_pem_path=pem)
    app = create_app(title="tiny", service="tiny", settings=settings, routers=[router])

    with TestClient(app) as client:
        assert client.get("/docs").status_code == 404
        assert client.get("/openapi.json").status_code == 404
        assert client.get("/me", headers=bearer()).status_code == 401  # dev-key tokens mean nothing here


def test_a_lone_surrogate_in_rejected_input_still_gives_a_json_422_not_a_500(client):
    from services.common.problems import json_safe

    import json

    json.dumps(json_safe({"\ud800": ["a\udfffb"]}), ensure_ascii=False).encode("utf-8")  # no UnicodeEncodeError
    response = client.post("/count", content='{"count": "\\ud800"}', headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "count"]


def test_every_operation_documents_each_error_status_it_can_answer_as_a_problem(client):
    document = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert set(document["components"]["schemas"]["Problem"]["required"]) == {"type", "title", "status"}
    operations = [(path, method, op) for path, item in document["paths"].items() for method, op in item.items()]
    assert operations
    for path, method, operation in operations:
        expected = {"400", "403", "404", "409", "422"} | ({"401"} if operation.get("security") else set())
        documented = {status for status in operation["responses"] if status[0] in "45"}
        assert documented == expected, (method, path)
        for status in expected:
            content = operation["responses"][status]["content"]
            assert content == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    me = document["paths"]["/me"]["get"]
    assert "401" in me["responses"]


def test_a_method_the_path_does_not_serve_is_a_405_allowing_every_method_it_does(client):
    # GET and POST /count are two routes; the answer names both, not only the first route's.
    response = client.request("OPTIONS", "/count")

    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert {m.strip() for m in response.headers["allow"].split(",")} == {"GET", "POST"}
