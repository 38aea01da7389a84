"""The whole stack for browser tests: the four APIs and the web service as real processes
(demo/stack.py), on ports apart from the demo's (8000–8004) and tests/e2e's story (18001–18004)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from demo.stack import ROOT, ServiceProcess, Stack

API_NAMES = ("referrals", "consent", "timeline", "notifications")
WEB_MAIN = ROOT / "services" / "web" / "__main__.py"


@dataclass(frozen=True)
class WebStack:
    stack: Stack
    web_url: str
    api_urls: dict[str, str]


def services_on(base_port: int) -> tuple[ServiceProcess, ...]:
    """web on base_port, the APIs on base_port+1..+4 (in the order of their default ports)."""
    return (ServiceProcess("web", base_port),
            *(ServiceProcess(name, base_port + i) for i, name in enumerate(API_NAMES, start=1)))


@contextmanager
def running_stack(workdir: Path, kafka_bootstrap: str, base_port: int,
                  extra_env: dict[str, str] | None = None, ready_timeout_s: float = 120) -> Iterator[WebStack]:
    if not WEB_MAIN.is_file():
        raise RuntimeError("services/web/__main__.py is absent: `python -m services.web` cannot start")
    services = services_on(base_port)
    urls = {s.name: s.url for s in services}
    env = {f"TAC_WEB_{name.upper()}_URL": urls[name] for name in API_NAMES}
    env.update(extra_env or {})
    stack = Stack(workdir, kafka_bootstrap=kafka_bootstrap, services=services, extra_env=env,
                  group_prefix=f"e2e-web-{uuid.uuid4().hex[:8]}")
    stack.start()
    try:
        stack.wait_until_ready(ready_timeout_s)
        yield WebStack(stack, urls["web"], {n: urls[n] for n in API_NAMES})
    finally:
        stack.stop()
