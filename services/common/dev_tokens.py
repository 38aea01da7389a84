"""Issuing tokens with the committed development key: for the tests, the demo's people and
`tac token`. A production token comes from the OIDC provider; settings refuse the development
key outside development (services.common.settings), so what this signs is accepted nowhere else.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from schemas.vocabulary import Agency
from services.common.auth import DEV_KEYS_DIR, Principal, check_algorithms

# Committed on purpose and therefore no secret: development and tests only.
DEV_PRIVATE_KEY_PATH = DEV_KEYS_DIR / "dev_private_key.pem"


def issue_token(
    private_key_pem: str | bytes,
    *,
    practitioner: str,
    organisation: str | None,
    agency: Agency | str,
    role: str,
    children: Iterable[UUID | str] = (),
    ttl_s: int = 3600,
    issuer: str,
    audience: str,
    algorithm: str = "RS256",
    kid: str | None = None,
    now: datetime | None = None,
) -> str:
    """Sign a token for the demo people and tests. The claims are validated as a Principal
    first, so an invalid token (a parent with an organisation, say) cannot be issued."""
    if ttl_s <= 0:
        raise ValueError("ttl_s must be positive")
    check_algorithms([algorithm])
    principal = Principal(
        practitioner_id=practitioner,
        organisation_id=organisation,
        agency=agency,
        role=role,
        children=frozenset(UUID(str(c)) for c in children),
    )
    pem = private_key_pem.encode() if isinstance(private_key_pem, str) else private_key_pem
    try:
        signing_key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise ValueError("the signing key is not an unencrypted PEM private key") from None
    issued = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": principal.practitioner_id,
        "iat": issued,
        "exp": issued + timedelta(seconds=ttl_s),
        "jti": str(uuid.uuid4()),
        "agency": principal.agency.value,
        "role": principal.role,
    }
    if principal.organisation_id is not None:
        claims["org"] = principal.organisation_id
    if principal.children:
        claims["children"] = sorted(str(c) for c in principal.children)
    return jwt.encode(claims, signing_key, algorithm=algorithm, headers={"kid": kid} if kid else None)


def dev_private_key_pem() -> bytes:
    """The committed development private key (tests, the demo seed and `tac token`)."""
    return DEV_PRIVATE_KEY_PATH.read_bytes()
