"""Runs the four services and the web interface as child processes on this machine, with their logs in a folder,
and stops them again (`make down`). The broker is started separately by `make kafka-up`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class ServiceProcess:
    name: str
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env_prefix(self) -> str:
        return f"TAC_{self.name.upper()}_"


SERVICES = (
    ServiceProcess("referrals", 8001),
    ServiceProcess("consent", 8002),
    ServiceProcess("timeline", 8003),
    ServiceProcess("notifications", 8004),
    ServiceProcess("web", 8000),  # the web interface, over the four APIs above
)


@dataclass
class Stack:
    """The services of one run: their databases, logs and pids live under `workdir`."""

    workdir: Path
    kafka_bootstrap: str = "127.0.0.1:9092"
    services: tuple[ServiceProcess, ...] = SERVICES
    extra_env: dict[str, str] = field(default_factory=dict)
    # Consumer groups of this run; tests use their own so they never share partitions with a demo.
    group_prefix: str = "tac"

    @property
    def pidfile(self) -> Path:
        return self.workdir / "pids.json"

    @property
    def logdir(self) -> Path:
        return self.workdir / "logs"

    def env_for(self, service: ServiceProcess) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
                "TAC_ENVIRONMENT": "development",
                f"{service.env_prefix}DATABASE_URL": f"sqlite:///{self.workdir / 'data' / service.name}.db",
                f"{service.env_prefix}PORT": str(service.port),
                f"{service.env_prefix}HOST": "127.0.0.1",
                f"{service.env_prefix}DATADIR": str(self.workdir / "data" / f"{service.name}-faust"),
                # Notifications link to where people read: the web interface (in a stack
                # without one, where the demo's would be).
                "TAC_TIMELINE_PUBLIC_URL": self.urls.get("web", "http://127.0.0.1:8000"),
                "PYTHONUNBUFFERED": "1",
                "TAC_REFERRALS_CONSENT_GROUP_ID": f"{self.group_prefix}-referrals-consent",
                "TAC_CONSENT_CHILDREN_GROUP_ID": f"{self.group_prefix}-consent-children",
                "TAC_TIMELINE_CONSUMER_GROUP": f"{self.group_prefix}-timeline",
                "TAC_NOTIFICATIONS_CONSUMER_GROUP": f"{self.group_prefix}-notifications",
            }
        )
        # The web interface calls the APIs of this stack (TAC_WEB_REFERRALS_URL, ...).
        env.update({f"TAC_WEB_{s.name.upper()}_URL": s.url for s in self.services if s.name != "web"})
        # Development: the children a parent's sign-in gives (re-read at each sign-in).
        env["TAC_WEB_DEV_PARENT_CHILDREN_FILE"] = str(self.parent_children_file)
        env.update(self.extra_env)
        return env

    @property
    def parent_children_file(self) -> Path:
        """Child ids (one a line) the web's development sign-in gives a parent."""
        return self.workdir / "dev-parent-children"

    def url_of(self, name: str) -> str:
        return next(s.url for s in self.services if s.name == name)

    @property
    def urls(self) -> dict[str, str]:
        return {s.name: s.url for s in self.services}

    def start(self) -> None:
        (self.workdir / "data").mkdir(parents=True, exist_ok=True)
        self.logdir.mkdir(parents=True, exist_ok=True)
        pids = {}
        for service in self.services:
            log = open(self.logdir / f"{service.name}.log", "ab")
            process = subprocess.Popen(
                [sys.executable, "-m", f"services.{service.name}"],
                cwd=ROOT,
                env=self.env_for(service),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            pids[service.name] = process.pid
        self.pidfile.write_text(json.dumps(pids))

    def wait_until_ready(self, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        pending = {s.name: s for s in self.services}
        while pending and time.monotonic() < deadline:
            for name, service in list(pending.items()):
                try:
                    if httpx.get(f"{service.url}/ready", timeout=2).status_code == 200:
                        del pending[name]
                except httpx.HTTPError:
                    pass
            self._check_alive()
            time.sleep(0.5)
        if pending:
            raise TimeoutError(f"not ready after {timeout_s:.0f}s: {', '.join(pending)} (logs in {self.logdir})")

    def _check_alive(self) -> None:
        for name, pid in self._pids().items():
            if not _alive(pid):
                raise RuntimeError(f"{name} exited; see {self.logdir / (name + '.log')}")

    def running(self) -> bool:
        pids = self._pids()
        return bool(pids) and all(_alive(p) for p in pids.values())

    def _pids(self) -> dict[str, int]:
        return json.loads(self.pidfile.read_text()) if self.pidfile.exists() else {}

    def stop(self, timeout_s: float = 20) -> list[str]:
        stopped = []
        pids = self._pids()
        for pid in pids.values():
            if _alive(pid):
                os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while any(_alive(p) for p in pids.values()) and time.monotonic() < deadline:
            time.sleep(0.2)
        for name, pid in pids.items():
            if _alive(pid):
                os.killpg(pid, signal.SIGKILL)
            stopped.append(name)
        self.pidfile.unlink(missing_ok=True)
        return stopped


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False
