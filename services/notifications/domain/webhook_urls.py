"""Where a webhook may point (a review found webhooks to 127.0.0.1, 169.254.169.254, [::1],
localhost and 0x7f000001 accepted and delivered: a server-side request forgery).

A webhook URL must be `https` (plain `http` only in development) and must not name or resolve
to a loopback, private, link-local (the cloud metadata service 169.254.169.254 among them),
multicast, reserved, unspecified or otherwise non-global address — IPv4-mapped IPv6 and the
old numeric spellings of IPv4 (`0x7f000001`, `127.1`, `2130706433`) included. Loopback is
allowed only when a development setting says so (the tests' receiver).

Checked twice: on subscription (the URL as written: `check_url`) and at every delivery after
resolving the name (`check_address` on every address), and the delivery then connects to the
address it checked, so a name that resolves differently the second time (DNS rebinding) cannot
slip through.

An international name is checked in the form a resolver asks for: IDNA (UTS 46) maps
`①②⑦.0.0.1` to `127.0.0.1` and `ＬＯＣＡＬＨＯＳＴ` to `localhost`, so the name is normalised
to ASCII first, checked in that form, and resolved and sent (Host, TLS SNI) in that form. And a
URL with a control character or a space (such as `\x7f`), which no HTTP client can send, is
refused here rather than failing every delivery attempt.

Pure: `ipaddress`, `socket.inet_aton` and `idna`; no I/O.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import idna

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeWebhook(ValueError):
    """The URL or an address it resolves to is refused; the message says why."""


@dataclass(frozen=True)
class WebhookPolicy:
    allow_http: bool = False  # development only
    allow_loopback: bool = False  # development only, and only when asked for (tests)


@dataclass(frozen=True)
class WebhookTarget:
    scheme: str
    host: str  # a name in ASCII (IDNA A-labels, lower case, no final dot), or an address without brackets
    port: int
    address: IPAddress | None  # set when the URL names an address rather than a name

    @property
    def default_port(self) -> bool:
        return self.port == (443 if self.scheme == "https" else 80)


_LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    # inet_aton accepts what resolvers and browsers accept too: 127.1, 0x7f000001, 2130706433.
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def check_address(address: IPAddress, policy: WebhookPolicy) -> None:
    """Refuse an address a webhook must not reach."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None:
            check_address(embedded, policy)
    if address.is_loopback:
        if policy.allow_loopback:
            return
        raise UnsafeWebhook(f"{address} is a loopback address")
    # site_local: IPv6 fec0::/10 (deprecated by RFC 3879, still routed inside some networks;
    # `ipaddress` counts it neither private nor reserved). IPv4 has no such attribute.
    for kind in ("unspecified", "link_local", "site_local", "multicast", "private", "reserved"):
        if getattr(address, f"is_{kind}", False):
            raise UnsafeWebhook(f"{address} is a {kind.replace('_', '-')} address")
    if not address.is_global:
        raise UnsafeWebhook(f"{address} is not a public address")


def check_url(url: str, policy: WebhookPolicy) -> WebhookTarget:
    """The URL as written: scheme, no credentials, and no refused name or address."""
    if any(ch.isspace() for ch in url):
        raise UnsafeWebhook("must not contain whitespace")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeWebhook(f"is not a URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme != "https" and not (scheme == "http" and policy.allow_http):
        raise UnsafeWebhook("must be an http(s) URL" if policy.allow_http else "must be an https URL")
    host = _ascii_host(parts.hostname or "")
    if not host:
        raise UnsafeWebhook("must name a host")
    if parts.username or parts.password:
        raise UnsafeWebhook("must not carry credentials; the signature authenticates the sender")
    address = _literal_address(host)
    if address is not None:
        check_address(address, policy)
    elif host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        if not policy.allow_loopback:
            raise UnsafeWebhook(f"{host} is a loopback name")
    bad = next((ch for ch in url if ord(ch) < 0x21 or ord(ch) == 0x7F), None)
    if bad is not None:  # what delivers could not send to it (RFC 3986 has no place for these)
        raise UnsafeWebhook(f"is not a valid URL (control character or space {bad!r})")
    return WebhookTarget(scheme, host, port or (443 if scheme == "https" else 80), address)


def _ascii_host(hostname: str) -> str:
    """The host as a resolver asks for it: lower case, no final dot, an international name in
    IDNA A-labels after UTS 46 mapping (which also folds full-width and circled digits and
    letters to ASCII), so the checks see what the connection would reach."""
    host = hostname.rstrip(".")
    if host.isascii():
        return host.lower()
    try:
        return idna.encode(host, uts46=True).decode("ascii").lower().rstrip(".")
    except (idna.IDNAError, UnicodeError) as exc:
        raise UnsafeWebhook(f"is not a valid URL (host: {exc})") from None


def check_resolved(target: WebhookTarget, addresses: list[IPAddress], policy: WebhookPolicy) -> IPAddress:
    """Every address the name resolved to must pass (one bad address and the name is refused:
    a resolver may hand any of them out next time); returns the one to connect to."""
    if not addresses:
        raise UnsafeWebhook(f"{target.host} resolves to no address")
    for address in addresses:
        check_address(address, policy)
    return addresses[0]
