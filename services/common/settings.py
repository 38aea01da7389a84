"""Typed service configuration, read from the environment only, failing loudly at start.

Each service subclasses `BaseServiceSettings` with its own prefix and a SQLite default under
`.local/` for its store::

    class ConsentSettings(BaseServiceSettings):
        model_config = SettingsConfigDict(env_prefix="TAC_CONSENT_")
        database_url: str = "sqlite:///.local/consent.db"   # TAC_CONSENT_DATABASE_URL

    settings = load_settings(ConsentSettings)              # in bootstrap, never at import

Environment variables (shared by every service, so one value serves them all):

=============================  ===========================================================
``TAC_ENVIRONMENT``            ``production`` (default), ``test`` or ``development``
``KAFKA_BOOTSTRAP_SERVERS``    broker list, default ``127.0.0.1:9092``
``TAC_JWT_ISSUER``             expected ``iss``, default ``tac-dev``
``TAC_JWT_AUDIENCE``           expected ``aud``, default ``tac``
``TAC_JWT_PUBLIC_KEY_PEM_PATH``  PEM public key file; default the committed dev key
``TAC_JWT_JWKS_URL``           OIDC provider JWKS endpoint (production); excludes the PEM path
``TAC_LOG_LEVEL``              ``DEBUG`` / ``INFO`` (default) / ``WARNING`` / ``ERROR``
``TAC_DIRECTORY_PATH``         organisation directory YAML; default ``reference/organisations.yaml``
``<PREFIX>DATABASE_URL``       per service, e.g. ``TAC_CONSENT_DATABASE_URL``
=============================  ===========================================================

A shared setting may also be given per service (``TAC_CONSENT_LOG_LEVEL``); it is read only
when the shared name is unset. Fields can be passed by name in tests:
``ConsentSettings(environment="test", database_url="sqlite://")``.

A missing ``TAC_ENVIRONMENT`` means production: a forgotten setting fails safe (the dev key is
refused, TLS is required), so whatever runs services for development — ``make demo``
(demo/stack.py), the test suite (tests/conftest.py), deploy/compose.yaml — sets
``TAC_ENVIRONMENT=development`` explicitly.

Production refuses the development key pair (which is public) and a configuration with no
key at all, naming the variable to fix.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlparse

from pydantic import AliasChoices, AliasPath, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.auth import DEV_PUBLIC_KEY_PATH
from services.common.directory import DEFAULT_DIRECTORY_PATH, ENV_DIRECTORY_PATH

DEFAULT_JWT_ISSUER = "tac-dev"
DEFAULT_JWT_AUDIENCE = "tac"
DEFAULT_KAFKA_BOOTSTRAP_SERVERS = "127.0.0.1:9092"

ENV_ENVIRONMENT = "TAC_ENVIRONMENT"
ENV_KAFKA_BOOTSTRAP_SERVERS = "KAFKA_BOOTSTRAP_SERVERS"
ENV_JWT_ISSUER = "TAC_JWT_ISSUER"
ENV_JWT_AUDIENCE = "TAC_JWT_AUDIENCE"
ENV_JWT_PUBLIC_KEY_PEM_PATH = "TAC_JWT_PUBLIC_KEY_PEM_PATH"
ENV_JWT_JWKS_URL = "TAC_JWT_JWKS_URL"
ENV_LOG_LEVEL = "TAC_LOG_LEVEL"

Environment = Literal["development", "test", "production"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class BaseServiceSettings(BaseSettings):
    """Settings every service has. Subclasses must set their own `env_prefix`."""

    model_config = SettingsConfigDict(
        validate_by_name=True,
        validate_by_alias=True,
        case_sensitive=False,
        extra="forbid",
        # An empty variable means "unset", so `TAC_JWT_JWKS_URL=` does not count as configured.
        env_ignore_empty=True,
    )

    environment: Environment = Field(
        default="production",  # fail safe: development must be asked for
        validation_alias=AliasChoices(ENV_ENVIRONMENT),
        description="TAC_ENVIRONMENT: development | test | production.",
    )
    kafka_bootstrap_servers: str = Field(
        default=DEFAULT_KAFKA_BOOTSTRAP_SERVERS,
        min_length=1,
        validation_alias=AliasChoices(ENV_KAFKA_BOOTSTRAP_SERVERS),
        description="KAFKA_BOOTSTRAP_SERVERS: comma-separated host:port list.",
    )
    database_url: str = Field(
        min_length=1,
        description="<PREFIX>DATABASE_URL: SQLAlchemy URL of this service's own store.",
    )
    jwt_issuer: str = Field(
        default=DEFAULT_JWT_ISSUER, min_length=1, validation_alias=AliasChoices(ENV_JWT_ISSUER),
        description="TAC_JWT_ISSUER: the `iss` every token must carry.",
    )
    jwt_audience: str = Field(
        default=DEFAULT_JWT_AUDIENCE, min_length=1, validation_alias=AliasChoices(ENV_JWT_AUDIENCE),
        description="TAC_JWT_AUDIENCE: the `aud` every token must carry.",
    )
    jwt_public_key_pem_path: Path | None = Field(
        default=DEV_PUBLIC_KEY_PATH,
        validation_alias=AliasChoices(ENV_JWT_PUBLIC_KEY_PEM_PATH),
        description="TAC_JWT_PUBLIC_KEY_PEM_PATH: PEM public key verifying tokens (default: dev key).",
    )
    jwt_jwks_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices(ENV_JWT_JWKS_URL),
        description="TAC_JWT_JWKS_URL: the OIDC provider's JWKS endpoint (takes the place of the PEM key).",
    )
    log_level: LogLevel = Field(
        default="INFO",
        validation_alias=AliasChoices(ENV_LOG_LEVEL),
        description="TAC_LOG_LEVEL: DEBUG | INFO | WARNING | ERROR | CRITICAL.",
    )
    directory_path: Path = Field(
        default=DEFAULT_DIRECTORY_PATH,
        validation_alias=AliasChoices(ENV_DIRECTORY_PATH),
        description="TAC_DIRECTORY_PATH: the organisation directory (services.common.directory), a YAML file.",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("jwt_jwks_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("must be an http(s) URL")
        return value

    @model_validator(mode="after")
    def _one_key_source_and_no_dev_key_in_production(self) -> "BaseServiceSettings":
        pem = self.jwt_public_key_pem_path
        pem_given = pem is not None and "jwt_public_key_pem_path" in self.model_fields_set
        if self.jwt_jwks_url is not None:
            if pem_given:
                raise ValueError(f"set only one of {ENV_JWT_JWKS_URL} and {ENV_JWT_PUBLIC_KEY_PEM_PATH}")
            if self.environment == "production" and urlparse(self.jwt_jwks_url).scheme != "https":
                raise ValueError(f"{ENV_JWT_JWKS_URL} must be an https URL in production")
            return self
        if pem is None:
            raise ValueError(f"no key to verify tokens: set {ENV_JWT_JWKS_URL} or {ENV_JWT_PUBLIC_KEY_PEM_PATH}")
        if not pem.is_file():
            raise ValueError(f"{ENV_JWT_PUBLIC_KEY_PEM_PATH}: no file at {str(pem)!r}")
        if self.environment == "production" and _is_dev_public_key(pem):
            raise ValueError(
                f"{ENV_JWT_PUBLIC_KEY_PEM_PATH} is the development key pair, whose private key is public; "
                f"in production set {ENV_JWT_JWKS_URL} (OIDC provider) or {ENV_JWT_PUBLIC_KEY_PEM_PATH} "
                "to the real public key"
            )
        return self

    @classmethod
    def env_names(cls, field_name: str) -> list[str]:
        """The environment variables that set a field, preferred first (for messages)."""
        field = cls.model_fields[field_name]
        prefix = str(cls.model_config.get("env_prefix") or "")
        alias = field.validation_alias
        names: list[str] = []
        if isinstance(alias, AliasChoices):
            names += [c if isinstance(c, str) else str(c.path[0]) for c in alias.choices]
        elif isinstance(alias, AliasPath):
            names.append(str(alias.path[0]))
        elif isinstance(alias, str):
            names.append(alias)
        if not names or cls.model_config.get("validate_by_name"):
            names.append(f"{prefix}{field_name}")
        return [n.upper() for n in names]


def _is_dev_public_key(path: Path) -> bool:
    # Compare content too, so a copy of the dev key under another name is caught.
    try:
        if path.resolve() == DEV_PUBLIC_KEY_PATH.resolve():
            return True
        return path.read_bytes().strip() == DEV_PUBLIC_KEY_PATH.read_bytes().strip()
    except OSError:
        return False


SettingsT = TypeVar("SettingsT", bound=BaseServiceSettings)


def describe_settings_error(cls: type[BaseServiceSettings], error: ValidationError) -> list[str]:
    """One line per problem, naming the environment variable; never echoes a value."""
    lines = []
    for err in error.errors(include_url=False, include_input=False, include_context=False):
        msg = err["msg"].removeprefix("Value error, ")
        loc = err["loc"]
        if not loc:
            lines.append(msg)
            continue
        head = str(loc[0])
        field_name = next(
            (name for name in cls.model_fields if head == name or head.upper() in cls.env_names(name)),
            None,
        )
        where = cls.env_names(field_name)[0] if field_name else head.upper()
        lines.append(f"{where}: {msg}")
    return lines


def load_settings(cls: type[SettingsT], **overrides: Any) -> SettingsT:
    """Build settings from the environment, or print one line per bad value on stderr and
    exit with status 2 — a configuration mistake is reported, never shown as a traceback."""
    if not cls.model_config.get("env_prefix"):
        raise TypeError(f"{cls.__name__} must set model_config env_prefix, e.g. 'TAC_CONSENT_'")
    try:
        return cls(**overrides)
    except ValidationError as e:
        print(f"configuration error ({cls.__name__}):", file=sys.stderr)
        for line in describe_settings_error(cls, e):
            print(f"  {line}", file=sys.stderr)
        raise SystemExit(2) from None
