"""The browser-test machinery itself: Chromium starts, axe-core judges the app's pages and its
report is readable, every page is photographed, and the whole stack with the web service is up."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.e2e.web.browser import AccessibilityViolations, CheckedPage

GOOD = b"""<!DOCTYPE html><html lang="en"><head><title>Fine page</title></head>
<body><main><h1>Fine page</h1><p>Nothing wrong here.</p><a href="/bad">A bad page</a></main></body></html>"""
BAD = b"""<!DOCTYPE html><html lang="en"><head><title>Bad page</title></head>
<body><main><h1>Bad page</h1><img src="/x.png"><p style="color:#bbb;background:#fff">Faint text</p>
<form><input type="text" name="q"></form></main></body></html>"""


class _Pages(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        body = {"/": GOOD, "/bad": BAD}.get(self.path)
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def trivial_site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_an_accessible_page_passes_and_is_photographed(trivial_site, checked_page_for):
    pages: CheckedPage = checked_page_for(trivial_site)

    pages.goto("/")

    assert [p.name for p in pages.shots.iterdir()] == ["01-fine-page.png"]


def test_a_page_with_violations_fails_with_a_readable_list(trivial_site, checked_page_for):
    pages: CheckedPage = checked_page_for(trivial_site)
    pages.goto("/")

    with pytest.raises(AccessibilityViolations) as caught:
        pages.follow(lambda: pages.page.get_by_role("link", name="A bad page").click())

    report = str(caught.value)
    assert f"on {trivial_site}/bad" in report
    for rule in ("image-alt", "color-contrast", "label"):
        assert f"- {rule} (" in report
    assert "https://dequeuniversity.com/rules/axe/" in report and "at img" in report
    assert sorted(p.name for p in pages.shots.iterdir()) == ["01-fine-page.png", "02-bad-page.png"]


def test_the_web_services_sign_in_page_is_served_by_the_whole_stack(web_stack, pages):
    pages.goto("/sign-in")

    assert pages.page.title()
