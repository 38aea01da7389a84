"""Webhook signatures: HMAC-SHA256 over timestamp and body, checked by the receiver."""

from __future__ import annotations

from datetime import datetime, timezone

from services.notifications.domain.signing import sign, signature_headers, verify_signature

SECRET = "whsec-0123456789abcdef"
BODY = b'{"about":"tac.referrals.referral_made.v1"}'
T = 1_767_000_000


def test_a_signature_made_with_the_secret_verifies():
    assert verify_signature(SECRET, str(T), BODY, sign(SECRET, T, BODY), now=T + 5)


def test_the_signature_is_the_hex_hmac_sha256_of_timestamp_dot_body():
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()

    assert sign(SECRET, T, BODY) == f"v1={expected}"
    assert signature_headers(SECRET, T, BODY) == {"X-TAC-Timestamp": str(T), "X-TAC-Signature": f"v1={expected}"}


def test_a_tampered_body_fails():
    assert not verify_signature(SECRET, T, BODY.replace(b"made", b"gone"), sign(SECRET, T, BODY), now=T)


def test_a_wrong_secret_fails():
    assert not verify_signature("another-secret-entirely", T, BODY, sign(SECRET, T, BODY), now=T)


def test_a_changed_timestamp_fails():
    assert not verify_signature(SECRET, T + 1, BODY, sign(SECRET, T, BODY), now=T)


def test_a_stale_timestamp_fails_even_with_a_valid_signature():
    signature = sign(SECRET, T, BODY)

    assert verify_signature(SECRET, T, BODY, signature, now=T + 300)
    assert not verify_signature(SECRET, T, BODY, signature, now=T + 301)
    assert not verify_signature(SECRET, T, BODY, signature, now=T - 301)  # from the future


def test_now_may_be_a_datetime():
    now = datetime.fromtimestamp(T + 10, tz=timezone.utc)

    assert verify_signature(SECRET, T, BODY, sign(SECRET, T, BODY), now=now)


def test_malformed_inputs_fail_rather_than_raise():
    good = sign(SECRET, T, BODY)

    assert not verify_signature(SECRET, "not-a-number", BODY, good, now=T)
    assert not verify_signature(SECRET, T, BODY, "", now=T)
    assert not verify_signature(SECRET, T, BODY, good.replace("v1=", "v0="), now=T)
    assert not verify_signature("", T, BODY, good, now=T)


def test_any_of_several_signatures_may_match_so_secrets_can_rotate():
    both = f"{sign('old-secret-xxxxxxxx', T, BODY)},{sign(SECRET, T, BODY)}"

    assert verify_signature(SECRET, T, BODY, both, now=T)
