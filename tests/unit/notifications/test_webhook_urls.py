"""Where a webhook may point: https to public addresses, checked as written and again after
resolving the name, connecting to the address checked (no DNS rebinding)."""

from __future__ import annotations

import ipaddress
from datetime import datetime, timezone

import httpx
import pytest

from services.notifications.adapters.channels import DeliveryError, WebhookChannel
from services.notifications.domain.webhook_urls import (
    UnsafeWebhook, WebhookPolicy, check_address, check_resolved, check_url,
)

STRICT = WebhookPolicy()
DEVELOPMENT = WebhookPolicy(allow_http=True)
TESTS = WebhookPolicy(allow_http=True, allow_loopback=True)


@pytest.mark.parametrize("url, policy", [
    ("https://hooks.example.com/tac", STRICT),
    ("https://hooks.example.com:8443/tac?x=1", STRICT),
    ("https://8.8.8.8/tac", STRICT),
    ("https://[2001:4860:4860::8888]/tac", STRICT),
    ("http://hooks.example.com/tac", DEVELOPMENT),
    ("http://127.0.0.1:8080/hook", TESTS),
    ("http://localhost:8080/hook", TESTS),
    ("http://[::1]:8080/hook", TESTS),
])
def test_accepted_urls(url, policy):
    check_url(url, policy)


@pytest.mark.parametrize("url, policy, why", [
    ("http://hooks.example.com/tac", STRICT, "https"),
    ("ftp://hooks.example.com/tac", DEVELOPMENT, "http(s)"),
    ("https://127.0.0.1/x", STRICT, "loopback"),
    ("http://127.0.0.1:8080/x", DEVELOPMENT, "loopback"),
    ("https://localhost/x", STRICT, "loopback"),
    ("https://api.localhost/x", STRICT, "loopback"),
    ("https://LOCALHOST./x", STRICT, "loopback"),
    ("https://[::1]/x", STRICT, "loopback"),
    ("https://0x7f000001/x", STRICT, "loopback"),
    ("https://127.1/x", STRICT, "loopback"),
    ("https://2130706433/x", STRICT, "loopback"),
    ("https://0177.0.0.1/x", STRICT, "loopback"),
    ("https://[::ffff:127.0.0.1]/x", STRICT, "loopback"),
    ("https://[::ffff:169.254.169.254]/x", STRICT, "link-local"),
    ("https://169.254.169.254/latest/meta-data/", STRICT, "link-local"),
    ("https://[fe80::1]/x", STRICT, "link-local"),
    ("https://10.0.0.5/x", STRICT, "private"),
    ("https://172.16.0.1/x", STRICT, "private"),
    ("https://192.168.1.1/x", STRICT, "private"),
    ("https://[fd00:ec2::254]/x", STRICT, "private"),
    ("https://100.64.0.1/x", STRICT, "not a public"),
    ("https://224.0.0.1/x", STRICT, "multicast"),
    ("https://0.0.0.0/x", STRICT, "unspecified"),
    ("https://240.0.0.1/x", STRICT, "private"),  # 240/4 is reserved, and listed as private too
    ("https://[2001:db8::1]/x", STRICT, "private"),
    ("https://user:secret@hooks.example.com/x", STRICT, "credentials"),
    ("https:///x", STRICT, "host"),
    ("https://hooks.example.com/a b", STRICT, "whitespace"),
    ("https://169.254.169.254/x", TESTS, "link-local"),  # loopback allowed does not open the rest
])
def test_refused_urls(url, policy, why):
    with pytest.raises(UnsafeWebhook, match=why.replace("(", r"\(").replace(")", r"\)")):
        check_url(url, policy)


# What the review found after the first round: each was accepted on subscription.
@pytest.mark.parametrize("url, policy, why", [
    # httpx (which delivers) refuses these: refused on subscription, never re-leased forever.
    ("https://hooks.example.com/\x7f", STRICT, "not a valid URL"),
    ("https://hooks.example.com/\x00", STRICT, "not a valid URL"),
    ("https://hooks.example.com/a\x1fb", STRICT, "whitespace"),  # a control character Python counts as space
    ("https://hooks.example.com/?q=\x7f", STRICT, "not a valid URL"),
    # IPv6 site-local (fec0::/10, deprecated by RFC 3879 yet still routed inside some networks).
    ("https://[fec0::1]/x", STRICT, "site-local"),
    ("https://[feff:ffff::1]/x", STRICT, "site-local"),
    ("http://[fec0::1]:8080/x", TESTS, "site-local"),
    # International names are normalised (IDNA, UTS 46) before the address check: these are
    # what a resolver would ask for.
    ("https://\u2460\u2461\u2466.0.0.1/x", STRICT, "loopback"),  # ①②⑦.0.0.1
    ("https://\uff11\uff12\uff17.0.0.1/x", STRICT, "loopback"),  # full-width 127.0.0.1
    ("https://\uff2c\uff2f\uff23\uff21\uff2c\uff28\uff2f\uff33\uff34/x", STRICT, "loopback"),  # ＬＯＣＡＬＨＯＳＴ
    ("https://\u2474\u2466\u2469.\u2461\u2468.\u2466.\u2463/x", STRICT, "not a valid URL"),  # ⑴ maps to "(1)": no host
    ("https://a\u200db.example/x", STRICT, "not a valid"),  # a joiner where IDNA allows none
])
def test_refused_after_the_second_review(url, policy, why):
    with pytest.raises(UnsafeWebhook, match=why):
        check_url(url, policy)


@pytest.mark.parametrize("url, host", [
    ("https://B\u00fccher.Example/x", "xn--bcher-kva.example"),
    ("https://xn--bcher-kva.example/x", "xn--bcher-kva.example"),
    ("https://Hooks.Example.COM./x", "hooks.example.com"),
])
def test_an_international_name_is_checked_and_resolved_in_its_ascii_form(url, host):
    assert check_url(url, STRICT).host == host


@pytest.mark.parametrize("address", ["fec0::1", "fec0:1234::5", "feff:ffff:ffff::1"])
def test_a_site_local_address_a_name_resolves_to_is_refused(address):
    with pytest.raises(UnsafeWebhook, match="site-local"):
        check_address(ipaddress.ip_address(address), STRICT)


@pytest.mark.parametrize("address, ok", [
    ("93.184.216.34", True), ("2606:2800:220:1:248:1893:25c8:1946", True),
    ("127.0.0.1", False), ("127.255.255.254", False), ("::1", False), ("10.1.2.3", False),
    ("169.254.169.254", False), ("::ffff:10.0.0.1", False), ("2002:7f00:1::", False), ("fc00::1", False),
    ("192.0.2.1", False), ("::", False),
])
def test_each_resolved_address_is_checked(address, ok):
    ip = ipaddress.ip_address(address)
    if ok:
        check_address(ip, STRICT)
    else:
        with pytest.raises(UnsafeWebhook):
            check_address(ip, STRICT)


def test_one_refused_address_among_those_a_name_resolves_to_refuses_the_name():
    target = check_url("https://rebind.example.com/x", STRICT)
    with pytest.raises(UnsafeWebhook, match="loopback"):
        check_resolved(target, [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("127.0.0.1")], STRICT)
    with pytest.raises(UnsafeWebhook, match="no address"):
        check_resolved(target, [], STRICT)


# --- the channel: resolve once, check, connect to the checked address -----------------------------


def _channel(answers: list[str], seen: list[httpx.Request], policy=STRICT) -> WebhookChannel:
    async def resolver(host: str, port: int):
        return [ipaddress.ip_address(a) for a in answers]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return WebhookChannel(client, timeout_s=1, clock=lambda: datetime(2026, 3, 2, tzinfo=timezone.utc),
                          policy=policy, resolver=resolver)


async def test_delivery_connects_to_the_checked_address_with_the_name_in_host_and_sni():
    seen: list[httpx.Request] = []
    await _channel(["93.184.216.34"], seen).send("https://hooks.example.com:8443/tac?x=1", "s" * 20, b"{}")

    [request] = seen
    assert (request.url.host, request.url.port, request.url.raw_path) == ("93.184.216.34", 8443, b"/tac?x=1")
    assert request.headers["Host"] == "hooks.example.com:8443"
    assert request.extensions["sni_hostname"] == "hooks.example.com"


async def test_a_name_that_now_resolves_to_a_refused_address_is_not_delivered_to():
    seen: list[httpx.Request] = []
    with pytest.raises(DeliveryError, match="refused.*169.254.169.254"):
        await _channel(["169.254.169.254"], seen).send("https://hooks.example.com/tac", "s" * 20, b"{}")
    assert seen == []


async def test_a_url_stored_before_the_rules_is_refused_at_delivery():
    seen: list[httpx.Request] = []
    with pytest.raises(DeliveryError, match="loopback"):
        await _channel(["93.184.216.34"], seen).send("https://127.0.0.1:9/x", "s" * 20, b"{}")
    assert seen == []


@pytest.mark.parametrize("url", ["https://hooks.example.com/\x7f", "https://hooks.example.com/a\x00b"])
async def test_a_url_httpx_cannot_send_to_is_a_delivery_error_not_a_crash(url):
    """Stored before the check knew it: the delivery fails as a DeliveryError (retried, then
    dead-lettered) instead of httpx.InvalidURL escaping and the job being re-leased forever."""
    seen: list[httpx.Request] = []
    with pytest.raises(DeliveryError, match="webhook"):
        await _channel(["93.184.216.34"], seen).send(url, "s" * 20, b"{}")
    assert seen == []


async def test_a_url_httpx_rejects_after_the_check_is_still_a_delivery_error(monkeypatch):
    """Should the check and httpx ever disagree again, the pinned delivery turns InvalidURL
    into a DeliveryError too."""
    from services.notifications.adapters import channels

    def invalid(url):
        raise httpx.InvalidURL("Invalid URL for this test")

    monkeypatch.setattr(channels.httpx, "URL", invalid)
    seen: list[httpx.Request] = []
    with pytest.raises(DeliveryError, match="Invalid URL for this test"):
        await _channel(["93.184.216.34"], seen).send("https://hooks.example.com/x", "s" * 20, b"{}")
    assert seen == []


async def test_an_international_name_is_resolved_and_sent_in_its_ascii_form():
    seen: list[httpx.Request] = []
    asked: list[str] = []

    async def resolver(host: str, port: int):
        asked.append(host)
        return [ipaddress.ip_address("93.184.216.34")]

    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: seen.append(request) or httpx.Response(200)))
    channel = WebhookChannel(client, timeout_s=1, clock=lambda: datetime(2026, 3, 2, tzinfo=timezone.utc),
                             policy=STRICT, resolver=resolver)
    await channel.send("https://b\u00fccher.example/x", "s" * 20, b"{}")

    assert asked == ["xn--bcher-kva.example"]
    [request] = seen
    assert request.headers["Host"] == "xn--bcher-kva.example"
    assert request.extensions["sni_hostname"] == "xn--bcher-kva.example"
