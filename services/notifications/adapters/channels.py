"""The channels a notification leaves by: e-mail over SMTP and signed webhooks over HTTP.

Each raises DeliveryError with words an operator can act on (never a secret); retrying is the
delivery worker's business, not theirs.
"""

from __future__ import annotations

import asyncio
import ipaddress
import smtplib
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

import httpx

from services.common.clock import Clock
from services.notifications.domain.messages import Message
from services.notifications.domain.signing import signature_headers
from services.notifications.domain.webhook_urls import (
    IPAddress, UnsafeWebhook, WebhookPolicy, WebhookTarget, check_resolved, check_url,
)

Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the name resolves to, in the resolver's order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


class DeliveryError(Exception):
    """A channel could not deliver; the message says why, without secrets."""


def _describe(exc: BaseException) -> str:
    words = str(exc).strip()
    return f"{type(exc).__name__}: {words}" if words else type(exc).__name__


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    starttls: bool = False
    use_ssl: bool = False
    username: str | None = None
    password: str | None = None
    sender: str = "TAC <no-reply@tac.invalid>"
    timeout_s: float = 10.0


class EmailChannel:
    """E-mail over SMTP with the standard library, in a worker thread (one connection per
    message: deliveries are rare and retried, so pooling buys nothing)."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        # Made once: loading the system's CA certificates took ~30 ms of CPU per message
        # (a profile of a delivery backlog), and the certificates do not change under a process.
        self._tls = ssl.create_default_context() if (config.use_ssl or config.starttls) else None

    async def send(self, to: str, message: Message, *, message_id: str | None = None) -> None:
        """`message_id`: the same on every attempt of one notification (messages.email_message_id)."""
        try:
            await asyncio.to_thread(self._send, to, message, message_id)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP: {_describe(exc)}") from None

    def _send(self, to: str, message: Message, message_id: str | None = None) -> None:
        c = self.config
        email = EmailMessage()
        email["From"] = c.sender
        email["To"] = to
        email["Subject"] = message.subject
        email["Message-ID"] = message_id or make_msgid(domain="tac.invalid")
        email.set_content(message.text)
        smtp: smtplib.SMTP
        if c.use_ssl:
            smtp = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout_s, context=self._tls)
        else:
            smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout_s)
        with smtp:
            if c.starttls:
                smtp.starttls(context=self._tls)
            if c.username:
                smtp.login(c.username, c.password or "")
            smtp.send_message(email)


class WebhookChannel:
    """POSTs the JSON body signed with HMAC-SHA256 (see domain.signing). A 2xx answer is
    delivery; anything else, a redirect included, is a failure to retry.

    The URL is checked again before every attempt (domain.webhook_urls): the name is resolved
    once, every address it resolves to must be allowed, and the request goes to the address
    checked — with the name in the Host header and in TLS SNI, so the certificate is verified
    for the name — never to whatever a second lookup would say (DNS rebinding)."""

    def __init__(self, client: httpx.AsyncClient, *, timeout_s: float, clock: Clock,
                 policy: WebhookPolicy = WebhookPolicy(), resolver: Resolver = resolve) -> None:
        self._client = client
        self._timeout_s = timeout_s
        self._clock = clock
        self._policy = policy
        self._resolve = resolver

    async def _pinned(self, url: str) -> tuple[httpx.URL, dict[str, str], dict]:
        """The URL to connect to (the checked address), its Host header and TLS server name."""
        try:
            target = check_url(url, self._policy)
            if target.address is not None:
                address = target.address
            else:
                try:
                    addresses = await self._resolve(target.host, target.port)
                except (OSError, UnicodeError) as exc:
                    raise DeliveryError(f"webhook: cannot resolve {target.host} ({_describe(exc)})") from None
                address = check_resolved(target, addresses, self._policy)
        except UnsafeWebhook as exc:
            raise DeliveryError(f"webhook refused: {exc}") from None
        try:
            pinned = httpx.URL(url).copy_with(host=str(address))
        except httpx.InvalidURL as exc:
            # Not an HTTPError, and raised before the request: left alone it would escape the
            # worker's failure handling and the job would be leased again forever.
            raise DeliveryError(f"webhook refused: not a valid URL ({exc})") from None
        extensions = {"sni_hostname": target.host} if target.scheme == "https" and target.address is None else {}
        return pinned, {"Host": _host_header(target)}, extensions

    async def send(self, url: str, secret: str, body: bytes) -> None:
        pinned, host, extensions = await self._pinned(url)
        signed = signature_headers(secret, int(self._clock().timestamp()), body)
        headers = {"Content-Type": "application/json", **host, **signed}
        try:
            response = await self._client.post(pinned, content=body, headers=headers, timeout=self._timeout_s,
                                               extensions=extensions)
        except httpx.TimeoutException as exc:
            raise DeliveryError(f"webhook: no answer within {self._timeout_s:g}s ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook: {_describe(exc)}") from None
        if not 200 <= response.status_code < 300:
            raise DeliveryError(f"webhook answered HTTP {response.status_code}")


def _host_header(target: WebhookTarget) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    return host if target.default_port else f"{host}:{target.port}"
