"""Calls the services' real HTTP APIs as a person of the cast."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from uuid import UUID

import httpx

from demo.cast import Person


class StoryError(RuntimeError):
    pass


@dataclass
class Api:
    urls: dict[str, str]  # service name -> base URL
    children: tuple[UUID, ...] = ()
    timeout_s: float = 10.0
    _http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10.0))

    def call(
        self,
        person: Person,
        method: str,
        service: str,
        path: str,
        *,
        json: dict | None = None,
        params: dict | None = None,
        expect: tuple[int, ...] = (200, 201),
        retry_on: tuple[int, ...] = (),
        within_s: float = 30.0,
    ) -> dict:
        """One request with `person`'s token. `retry_on` covers the moments where a service has
        not yet consumed an event another service just published (eventual consistency)."""
        deadline = time.monotonic() + within_s
        headers = {"Authorization": f"Bearer {person.token(children=self.children)}"}
        while True:
            response = self._http.request(method, self.urls[service] + path, json=json, params=params, headers=headers)
            if response.status_code in expect:
                return response.json() if response.content else {}
            if response.status_code in retry_on and time.monotonic() < deadline:
                time.sleep(0.5)
                continue
            raise StoryError(f"{person.name}: {method} {service}{path} -> {response.status_code} {response.text[:500]}")

    def raw(self, person: Person, method: str, service: str, path: str, *, json: dict | None = None) -> tuple[int, object]:
        """One request whose answer is returned whatever its status: (status, decoded body)."""
        headers = {"Authorization": f"Bearer {person.token(children=self.children)}"}
        response = self._http.request(method, self.urls[service] + path, json=json, headers=headers)
        try:
            body = response.json()
        except ValueError:
            body = response.text
        return response.status_code, body

    def close(self) -> None:
        self._http.close()
