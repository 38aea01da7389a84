"""Service settings: read from the environment, refusing the dev key in production, and
reporting mistakes as one clear line per variable instead of a traceback."""

from __future__ import annotations

import shutil

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from services.common.auth import DEV_PUBLIC_KEY_PATH
from services.common.settings import BaseServiceSettings, load_settings

SHARED = ("TAC_ENVIRONMENT", "KAFKA_BOOTSTRAP_SERVERS", "TAC_JWT_ISSUER", "TAC_JWT_AUDIENCE",
          "TAC_JWT_PUBLIC_KEY_PEM_PATH", "TAC_JWT_JWKS_URL", "TAC_LOG_LEVEL")


class ConsentLikeSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TAC_SAMPLE_")


class WithSqliteDefault(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TAC_SAMPLE_")
    database_url: str = "sqlite:///.local/sample.db"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in SHARED + ("TAC_SAMPLE_DATABASE_URL", "TAC_SAMPLE_ENVIRONMENT", "TAC_SAMPLE_LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def real_public_key(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    path = tmp_path / "idp.pem"
    path.write_bytes(key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


def exit_message(capsys, cls=ConsentLikeSettings) -> str:
    with pytest.raises(SystemExit) as exited:
        load_settings(cls)
    assert exited.value.code == 2
    return capsys.readouterr().err


def test_a_missing_environment_means_production_so_the_dev_key_is_refused(capsys):
    with pytest.raises(ValidationError, match="TAC_JWT_PUBLIC_KEY_PEM_PATH is the development key pair"):
        WithSqliteDefault()
    assert "TAC_JWT_PUBLIC_KEY_PEM_PATH is the development key pair" in exit_message(capsys, WithSqliteDefault)


def test_a_missing_environment_with_a_real_key_is_production(real_public_key):
    assert WithSqliteDefault(jwt_public_key_pem_path=real_public_key).environment == "production"


def test_development_defaults_use_the_dev_key_and_local_kafka(monkeypatch):
    monkeypatch.setenv("TAC_ENVIRONMENT", "development")

    settings = WithSqliteDefault()

    assert settings.environment == "development"
    assert settings.kafka_bootstrap_servers == "127.0.0.1:9092"
    assert settings.jwt_public_key_pem_path == DEV_PUBLIC_KEY_PATH
    assert (settings.jwt_issuer, settings.jwt_audience, settings.jwt_jwks_url) == ("tac-dev", "tac", None)
    assert settings.database_url == "sqlite:///.local/sample.db"


def test_shared_names_serve_every_service_and_the_database_url_is_per_service(monkeypatch):
    monkeypatch.setenv("TAC_ENVIRONMENT", "test")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-0:9092,kafka-1:9092")
    monkeypatch.setenv("TAC_JWT_ISSUER", "https://login.example")
    monkeypatch.setenv("TAC_LOG_LEVEL", "debug")
    monkeypatch.setenv("TAC_SAMPLE_DATABASE_URL", "postgresql+psycopg://db/consent")

    settings = load_settings(ConsentLikeSettings)

    assert settings.environment == "test"
    assert settings.kafka_bootstrap_servers == "kafka-0:9092,kafka-1:9092"
    assert settings.jwt_issuer == "https://login.example"
    assert settings.log_level == "DEBUG"
    assert settings.database_url == "postgresql+psycopg://db/consent"


def test_production_with_the_dev_key_fails_naming_the_variable(monkeypatch, capsys):
    monkeypatch.setenv("TAC_ENVIRONMENT", "production")

    with pytest.raises(ValidationError, match="TAC_JWT_PUBLIC_KEY_PEM_PATH"):
        WithSqliteDefault()
    message = exit_message(capsys, WithSqliteDefault)
    assert "TAC_JWT_PUBLIC_KEY_PEM_PATH is the development key pair" in message
    assert "Traceback" not in message


def test_production_with_a_copy_of_the_dev_key_fails_too(monkeypatch, tmp_path):
    copy = tmp_path / "innocent-looking.pem"
    shutil.copy(DEV_PUBLIC_KEY_PATH, copy)
    monkeypatch.setenv("TAC_JWT_PUBLIC_KEY_PEM_PATH", str(copy))

    with pytest.raises(ValidationError, match="TAC_JWT_PUBLIC_KEY_PEM_PATH"):
        WithSqliteDefault(environment="production")


def test_production_starts_with_a_real_public_key_or_a_jwks_url(monkeypatch, real_public_key):
    monkeypatch.setenv("TAC_ENVIRONMENT", "production")

    with_pem = WithSqliteDefault(jwt_public_key_pem_path=real_public_key)
    monkeypatch.setenv("TAC_JWT_JWKS_URL", "https://login.example/.well-known/jwks.json")
    with_jwks = WithSqliteDefault()

    assert with_pem.jwt_public_key_pem_path == real_public_key
    assert with_jwks.jwt_jwks_url == "https://login.example/.well-known/jwks.json"


def test_production_refuses_a_plain_http_jwks_url(monkeypatch, capsys):
    monkeypatch.setenv("TAC_ENVIRONMENT", "production")
    monkeypatch.setenv("TAC_JWT_JWKS_URL", "http://login.example/jwks")

    assert "TAC_JWT_JWKS_URL must be an https URL in production" in exit_message(capsys, WithSqliteDefault)


def test_no_key_at_all_fails_naming_both_variables(capsys):
    with pytest.raises(ValidationError, match="set TAC_JWT_JWKS_URL or TAC_JWT_PUBLIC_KEY_PEM_PATH"):
        WithSqliteDefault(jwt_public_key_pem_path=None)


def test_a_key_path_and_a_jwks_url_together_are_ambiguous(monkeypatch, real_public_key):
    monkeypatch.setenv("TAC_JWT_PUBLIC_KEY_PEM_PATH", str(real_public_key))
    monkeypatch.setenv("TAC_JWT_JWKS_URL", "https://login.example/jwks")

    with pytest.raises(ValidationError, match="set only one of TAC_JWT_JWKS_URL and TAC_JWT_PUBLIC_KEY_PEM_PATH"):
        WithSqliteDefault()


def test_a_missing_key_file_is_reported_at_start(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("TAC_JWT_PUBLIC_KEY_PEM_PATH", str(tmp_path / "absent.pem"))

    assert "TAC_JWT_PUBLIC_KEY_PEM_PATH: no file at" in exit_message(capsys, WithSqliteDefault)


def test_a_missing_required_value_exits_2_with_one_line_naming_its_variable(capsys):
    message = exit_message(capsys)

    assert message.splitlines() == ["configuration error (ConsentLikeSettings):", "  TAC_SAMPLE_DATABASE_URL: Field required"]


def test_every_bad_value_gets_its_own_line_and_no_value_is_echoed(monkeypatch, capsys):
    monkeypatch.setenv("TAC_ENVIRONMENT", "staging-secret-value")
    monkeypatch.setenv("TAC_LOG_LEVEL", "chatty")

    message = exit_message(capsys)

    assert "  TAC_ENVIRONMENT: Input should be 'development', 'test' or 'production'" in message.splitlines()
    assert any(line.startswith("  TAC_LOG_LEVEL: ") for line in message.splitlines())
    assert any(line.startswith("  TAC_SAMPLE_DATABASE_URL: ") for line in message.splitlines())
    assert "staging-secret-value" not in message and "chatty" not in message


def test_an_empty_variable_counts_as_unset(monkeypatch, capsys):
    monkeypatch.setenv("TAC_SAMPLE_DATABASE_URL", "")

    assert "TAC_SAMPLE_DATABASE_URL: Field required" in exit_message(capsys)


def test_settings_without_an_env_prefix_are_refused():
    class Unprefixed(BaseServiceSettings):
        pass

    with pytest.raises(TypeError, match="env_prefix"):
        load_settings(Unprefixed)
