"""The four services as processes (`python -m services.<name>`, as `make demo` runs them, with
demo.stack's environment) on the soak's broker and PostgreSQL, each of which can be SIGKILLed
and started again on the same database and consumer group."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.common import free_port
from demo.stack import ROOT, ServiceProcess, Stack

NAMES = ("referrals", "consent", "timeline", "notifications")


def remember_pid(workdir: Path, name: str, pid: int) -> None:
    """What this run has running (process group leaders), so that a run stopped without its
    clean-up (SIGKILL) can be cleaned up by the next one."""
    pidfile = workdir / "pids.json"
    pids = json.loads(pidfile.read_text()) if pidfile.exists() else {}
    pids[name] = pid
    pidfile.write_text(json.dumps(pids))


def stop_leftovers(workdir: Path) -> list[str]:
    """SIGKILL the process groups a previous run recorded and left running: only those whose
    command line or environment still names this folder (a pid may have been reused)."""
    pidfile = workdir / "pids.json"
    if not pidfile.exists():
        return []
    stopped = []
    for name, pid in json.loads(pidfile.read_text()).items():
        try:
            # The broker names the folder on its command line, a service in its environment.
            own = str(workdir).encode()
            proc = Path(f"/proc/{pid}")
            if own not in (proc / "cmdline").read_bytes() and own not in (proc / "environ").read_bytes():
                continue
        except OSError:
            continue
        try:
            os.killpg(pid, signal.SIGKILL)
            stopped.append(name)
        except ProcessLookupError:
            pass
    pidfile.unlink(missing_ok=True)
    return stopped


@dataclass
class Supervised:
    service: ServiceProcess
    env: dict[str, str]
    log: Path
    process: subprocess.Popen | None = None
    started_at: float = 0.0  # time.monotonic() of the last start
    kills: int = 0
    exits: list[str] = field(default_factory=list)  # exits nobody asked for, with the log's tail
    # The monkey's kill-and-start and the watchdog's restart must not interleave (two processes).
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def name(self) -> str:
        return self.service.name

    def start(self) -> None:
        self.started_at = time.monotonic()
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", f"services.{self.name}"], cwd=ROOT, env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        remember_pid(self.log.parent.parent, self.name, self.process.pid)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, no warning: the process group, so nothing it started lives on."""
        if self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
            self.kills += 1

    def kill_and_start(self) -> None:
        with self.lock:
            self.kill()
            self.start()

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)

    def restart_if_exited(self) -> bool:
        """Start it again if it exited by itself (a crash is recorded, never hidden)."""
        with self.lock:
            return self._restart_if_exited()

    def _restart_if_exited(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            # The last line a person can act on (a traceback's first line is no help).
            lines = [ln for ln in self.log.read_text(errors="replace").splitlines()[-20:] if "Traceback" not in ln]
            self.exits.append(f"exit {self.process.returncode}: " + (lines[-1][:300] if lines else "(no log)"))
            self.start()
            return True
        return False

    def ready(self, timeout_s: float = 1.0) -> bool:
        try:
            return httpx.get(f"{self.service.url}/ready", timeout=timeout_s).status_code == 200
        except httpx.HTTPError:
            return False


class Services:
    def __init__(self, workdir: Path, bootstrap: str, database_url: dict[str, str], smtp_port: int) -> None:
        services = tuple(ServiceProcess(name, free_port()) for name in NAMES)
        extra = {f"TAC_{s.name.upper()}_DATABASE_URL": database_url[s.name] for s in services}
        extra.update({
            "TAC_REFERRALS_LOG_LEVEL": "WARNING",
            "TAC_CONSENT_LOG_LEVEL": "WARNING",
            "TAC_TIMELINE_LOG_LEVEL": "WARNING",
            "TAC_NOTIFICATIONS_LOG_LEVEL": "WARNING",
            # A member killed without leaving holds its partitions until its session times out:
            # 10 s (the consumers' own default) rather than the stream processors' 30 s, so the
            # soak's kills stall a group for seconds, not half a minute each.
            "TAC_TIMELINE_SESSION_TIMEOUT_S": "10",
            "TAC_NOTIFICATIONS_SESSION_TIMEOUT_S": "10",
            "TAC_NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
            "TAC_NOTIFICATIONS_SMTP_PORT": str(smtp_port),
            # The soak's webhook receiver listens on 127.0.0.1 (development only).
            "TAC_NOTIFICATIONS_ALLOW_LOOPBACK_WEBHOOKS": "true",
            # A job leased by a process that was then killed is taken up again this soon
            # (the default, 120 s, would leave it waiting past the soak's end).
            "TAC_NOTIFICATIONS_DELIVERY_LEASE_S": "15",
            "TAC_NOTIFICATIONS_RETRY_BASE_S": "1",
            "TAC_NOTIFICATIONS_RETRY_MAX_S": "10",
            "TAC_NOTIFICATIONS_MAX_ATTEMPTS": "20",
        })
        self.stack = Stack(workdir, kafka_bootstrap=bootstrap, services=services, extra_env=extra)
        logs = workdir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.by_name = {s.name: Supervised(s, self.stack.env_for(s), logs / f"{s.name}.log") for s in services}

    @property
    def urls(self) -> dict[str, str]:
        return self.stack.urls

    def start(self) -> None:
        for s in self.by_name.values():
            s.start()

    def wait_ready(self, timeout_s: float = 180) -> None:
        deadline = time.monotonic() + timeout_s
        pending = set(self.by_name)
        while pending:
            for name in list(pending):
                s = self.by_name[name]
                if s.restart_if_exited():
                    continue
                if s.ready():
                    pending.discard(name)
            if time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout_s:.0f}s: {', '.join(sorted(pending))} "
                                   f"(logs in {self.stack.logdir})")
            time.sleep(0.5)

    def kill_and_start(self) -> None:
        with self.lock:
            self.kill()
            self.start()

    def stop(self) -> None:
        for s in self.by_name.values():
            s.stop()
