from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from services.web.bootstrap import build_app
from services.web.config import WebSettings
from tests.unit.web.fakes import FakeApis


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Web:
    client: TestClient
    apis: FakeApis
    clock: FakeClock

    def csrf(self, path: str = "/sign-in") -> str:
        page = self.client.get(path)
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert found, f"no CSRF field on {path}"
        return found.group(1)

    def sign_in_as(self, key: str) -> None:
        response = self.client.post("/sign-in", data={"person": key, "csrf_token": self.csrf()},
                                    follow_redirects=False)
        assert response.status_code == 303, response.text


def make_web(settings: WebSettings | None = None, **kwargs) -> Web:
    apis, clock = FakeApis(), FakeClock()
    app = build_app(settings or WebSettings(environment="development"), apis=apis.as_apis(), clock=clock, **kwargs)
    return Web(TestClient(app, base_url="http://testserver"), apis, clock)


@pytest.fixture
def web():
    made = make_web()
    with made.client:
        yield made
