"""Webhook signatures: HMAC-SHA256 over a timestamp and the body, verifiable by the receiver.

The sender puts the unix time in ``X-TAC-Timestamp`` and ``v1=<hex>`` in ``X-TAC-Signature``,
where hex is HMAC-SHA256(secret, f"{timestamp}.{body}"). Signing the timestamp with the body,
and refusing timestamps outside a tolerance, stops a captured request from being replayed
later; the constant-time comparison stops the signature being guessed byte by byte.

Pure, standard library only, so a receiver can copy this one function.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

TIMESTAMP_HEADER = "X-TAC-Timestamp"
SIGNATURE_HEADER = "X-TAC-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE_S = 300


def _mac(secret: str, timestamp: str, body: bytes) -> str:
    message = timestamp.encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-TAC-Signature`` value for ``body`` sent at ``timestamp`` (unix seconds)."""
    if not secret:
        raise ValueError("a webhook secret is required to sign")
    return f"{SCHEME}={_mac(secret, str(int(timestamp)), body)}"


def signature_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {TIMESTAMP_HEADER: str(int(timestamp)), SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify_signature(
    secret: str,
    timestamp: str | int,
    body: bytes,
    signature: str,
    now: float | datetime,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> bool:
    """True when ``signature`` is a valid ``v1=`` HMAC of ``body`` at ``timestamp`` under
    ``secret``, and ``timestamp`` is within ``tolerance_s`` of ``now`` (either side, for clock
    skew). Several comma-separated signatures are accepted (secret rotation): any may match.
    """
    if not secret or not signature:
        return False
    try:
        ts = int(str(timestamp).strip())
    except ValueError:
        return False
    now_s = now.timestamp() if isinstance(now, datetime) else float(now)
    if abs(now_s - ts) > tolerance_s:
        return False
    expected = _mac(secret, str(ts), body)
    for part in signature.split(","):
        scheme, _, value = part.strip().partition("=")
        if scheme == SCHEME and hmac.compare_digest(value.strip().lower(), expected):
            return True
    return False
