"""Who is calling: bearer JWTs verified into a `Principal` (DESIGN §4 Identity).

A token carries the practitioner (`sub`), their organisation (`org`, absent for a parent),
the organisation kind (`agency`), their `role`, and for a parent the `children` they hold
parental responsibility for. An OIDC provider whose `sub` is its own user id (Keycloak: a
UUID) names TAC's practitioner id in a `practitioner_id` claim instead, which then wins over
`sub`; any other claim the provider adds (`azp`, `scope`, `name`, ...) is ignored. Issuer, audience, expiry, issue time and subject are required
and checked; only asymmetric algorithms from an explicit allow-list are accepted, so neither
`alg: none` nor an HMAC token "signed" with the public key can pass.

Keys: in production from the OIDC provider's JWKS (`jwks_url`), locally from the committed
development key pair in `dev_keys/` (which settings refuse in production).

This module knows nothing of FastAPI; the request dependency lives in `services.common.web`.
Issuing tokens (development and tests only) is services.common.dev_tokens.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from schemas.envelope import Actor
from schemas.vocabulary import Agency

if TYPE_CHECKING:
    from services.common.settings import BaseServiceSettings

DEV_KEYS_DIR = Path(__file__).resolve().parent / "dev_keys"
DEV_PUBLIC_KEY_PATH = DEV_KEYS_DIR / "dev_public_key.pem"

DEFAULT_ALGORITHMS: tuple[str, ...] = ("RS256",)
# Only public-key algorithms: with an HMAC algorithm the verifier's public key would become
# the shared secret, so anyone could forge tokens (RFC 8725 §2.1, §3.1).
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
REQUIRED_CLAIMS = ("exp", "iat", "sub", "iss", "aud")
MAX_TOKEN_LENGTH = 8192

# Claim names in the token, by Principal field, for error messages.
_CLAIM_OF_FIELD = {"practitioner_id": "sub", "organisation_id": "org", "agency": "agency", "role": "role", "children": "children"}
# The claim naming TAC's practitioner id when the provider's `sub` is its own user id.
PRACTITIONER_ID_CLAIM = "practitioner_id"


class AuthError(Exception):
    """The caller could not be authenticated; `reason` is safe to return to them."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Principal(BaseModel):
    """The authenticated caller: a practitioner acting for one organisation, or a parent.

    `children` holds, for a parent, the children they have parental responsibility for
    (DESIGN §3 rule 1); it is always empty for a practitioner, so no code can mistake a
    practitioner for a parent of a child.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    practitioner_id: str = Field(min_length=1, max_length=128)
    organisation_id: str | None = Field(default=None, min_length=1, max_length=128)
    agency: Agency
    role: str = Field(min_length=1, max_length=64)
    children: frozenset[UUID] = frozenset()

    @model_validator(mode="after")
    def _parent_or_practitioner(self) -> "Principal":
        if self.agency is Agency.PARENT:
            if self.organisation_id is not None:
                raise ValueError("a parent acts for no organisation: 'org' must be absent")
        else:
            if self.organisation_id is None:
                raise ValueError("a practitioner must act for an organisation: 'org' is required")
            if self.children:
                raise ValueError("only a parent carries 'children'")
        return self

    @property
    def is_parent(self) -> bool:
        return self.agency is Agency.PARENT

    def as_actor(self) -> Actor:
        """The envelope's `actor` for events this caller causes."""
        return Actor(
            practitioner_id=self.practitioner_id,
            organisation_id=self.organisation_id,
            agency=self.agency,
            role=self.role,
        )


def check_algorithms(algorithms: Iterable[str]) -> tuple[str, ...]:
    algs = tuple(algorithms)
    if not algs:
        raise ValueError("at least one JWT algorithm must be allowed")
    refused = [a for a in algs if a not in ASYMMETRIC_ALGORITHMS]
    if refused:
        raise ValueError(
            f"JWT algorithms {refused} are not allowed; use public-key algorithms only "
            f"({', '.join(sorted(ASYMMETRIC_ALGORITHMS))})"
        )
    return algs


class TokenVerifier:
    """Verifies bearer tokens into Principals. Build it with exactly one key source:
    `public_key_pem` (a PEM public key) or `jwks_url` (an OIDC provider's JWKS endpoint)."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        public_key_pem: str | bytes | None = None,
        jwks_url: str | None = None,
        algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
        leeway_s: float = 30,
        jwks_timeout_s: float = 5,
    ) -> None:
        if (public_key_pem is None) == (jwks_url is None):
            raise ValueError("give exactly one of public_key_pem or jwks_url")
        if not issuer or not audience:
            raise ValueError("issuer and audience are required")
        self.issuer = issuer
        self.audience = audience
        self.algorithms = check_algorithms(algorithms)
        self.leeway_s = leeway_s
        self._key: Any = None
        self._jwks: jwt.PyJWKClient | None = None
        if public_key_pem is not None:
            pem = public_key_pem.encode() if isinstance(public_key_pem, str) else public_key_pem
            try:
                # A key object (not raw PEM text) can never be used as an HMAC secret.
                self._key = load_pem_public_key(pem)
            except (ValueError, TypeError) as e:
                raise ValueError(f"the JWT public key is not a readable PEM public key: {e}") from None
        else:
            # Nothing is fetched here: keys are fetched on first use and cached (5 min).
            self._jwks = jwt.PyJWKClient(jwks_url, cache_jwk_set=True, lifespan=300, timeout=jwks_timeout_s)

    @classmethod
    def from_settings(cls, settings: "BaseServiceSettings") -> "TokenVerifier":
        if settings.jwt_jwks_url:
            return cls(issuer=settings.jwt_issuer, audience=settings.jwt_audience, jwks_url=settings.jwt_jwks_url)
        assert settings.jwt_public_key_pem_path is not None  # the settings validator ensures one source
        return cls(
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            public_key_pem=Path(settings.jwt_public_key_pem_path).read_bytes(),
        )

    def verify(self, token: str | None) -> Principal:
        """The Principal the token proves, or AuthError saying why not.

        May fetch the JWKS over the network (cached), so call it from a worker thread in
        async code (the FastAPI dependency does)."""
        if token is None or not token.strip():
            raise AuthError("missing bearer token")
        if len(token) > MAX_TOKEN_LENGTH:
            raise AuthError("token is too long")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError("token is malformed") from None
        if header.get("alg") not in self.algorithms:
            raise AuthError(f"token algorithm is not accepted (allowed: {', '.join(self.algorithms)})")
        claims = self._decode(token, self._signing_key(token))
        return _principal_from_claims(claims)

    def _signing_key(self, token: str) -> Any:
        if self._jwks is None:
            return self._key
        try:
            return self._jwks.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientConnectionError:
            raise AuthError("token signing keys are unavailable; try again later") from None
        except jwt.PyJWTError:
            raise AuthError("token signing key is not known") from None

    def _decode(self, token: str, key: Any) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=list(self.algorithms),
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": list(REQUIRED_CLAIMS), "verify_signature": True},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("token has expired") from None
        except jwt.InvalidSignatureError:
            raise AuthError("token signature is invalid") from None
        except jwt.InvalidAudienceError:
            raise AuthError("token audience is not accepted") from None
        except jwt.InvalidIssuerError:
            raise AuthError("token issuer is not accepted") from None
        except jwt.MissingRequiredClaimError as e:
            raise AuthError(f"token lacks the {e.claim!r} claim") from None
        except jwt.ImmatureSignatureError:
            raise AuthError("token is not yet valid") from None
        except jwt.InvalidIssuedAtError:
            raise AuthError("token 'iat' claim is invalid") from None
        except jwt.exceptions.InvalidSubjectError:
            raise AuthError("token 'sub' claim is invalid") from None
        except jwt.InvalidAlgorithmError:
            raise AuthError(f"token algorithm is not accepted (allowed: {', '.join(self.algorithms)})") from None
        except jwt.DecodeError:
            raise AuthError("token is malformed") from None
        except jwt.PyJWTError:
            raise AuthError("token is invalid") from None


def _principal_from_claims(claims: dict[str, Any]) -> Principal:
    children = claims.get("children", [])
    if not isinstance(children, list):
        raise AuthError("token claim 'children' must be a list of child ids")
    practitioner, practitioner_claim = claims.get(PRACTITIONER_ID_CLAIM), PRACTITIONER_ID_CLAIM
    if practitioner is None:
        practitioner, practitioner_claim = claims["sub"], "sub"
    elif not isinstance(practitioner, str):
        raise AuthError(f"token claim {PRACTITIONER_ID_CLAIM!r} must be a string")
    fields = {"practitioner_id": practitioner, "organisation_id": claims.get("org"),
              "agency": claims.get("agency"), "role": claims.get("role"), "children": children}
    try:
        # An absent (or null) claim is reported as missing, not as a wrong value.
        return Principal(**{name: value for name, value in fields.items() if value is not None})
    except ValidationError as e:
        raise AuthError(f"token claims are invalid: {_describe_claim_errors(e, practitioner_claim)}") from None


def _describe_claim_errors(error: ValidationError, practitioner_claim: str = "sub") -> str:
    # Never echo claim values: only which claim is wrong and why.
    claim_of_field = {**_CLAIM_OF_FIELD, "practitioner_id": practitioner_claim}
    parts = []
    for err in error.errors(include_url=False, include_input=False):
        loc = err["loc"]
        if not loc:
            parts.append(err["msg"].removeprefix("Value error, "))
            continue
        claim = claim_of_field.get(str(loc[0]), str(loc[0]))
        parts.append(f"{claim!r} is missing" if err["type"] == "missing" else f"{claim!r}: {err['msg']}")
    return "; ".join(parts)


def dev_public_key_pem() -> bytes:
    return DEV_PUBLIC_KEY_PATH.read_bytes()
