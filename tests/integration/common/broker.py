"""A second, disposable Kafka broker for tests that stop and restart the broker.

It runs the same jars as `make kafka-up` (the classpath that script resolved) on its own ports
and data folder, so stopping it never disturbs the shared broker other tests use.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CLASSPATH_FILE = ROOT / ".local" / "kafka" / "classpath.txt"
TEMPLATE = ROOT / "deploy" / "local" / "server.properties"
LOG4J = ROOT / "deploy" / "local" / "log4j.properties"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DisposableBroker:
    def __init__(self, workdir: Path) -> None:
        if not CLASSPATH_FILE.exists():  # the shared broker may have been started by another checkout
            subprocess.run(["bash", str(ROOT / "scripts" / "kafka.sh"), "classpath"], check=True, capture_output=True)
        self.workdir = workdir
        self.port, self.controller_port = _free_port(), _free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self._classpath = CLASSPATH_FILE.read_text().strip()
        self._props = workdir / "server.properties"
        self._process: subprocess.Popen | None = None
        text = TEMPLATE.read_text().replace("@LOG_DIRS@", str(workdir / "data"))
        text = text.replace("127.0.0.1:9093", f"127.0.0.1:{self.controller_port}").replace(
            "127.0.0.1:9092", f"127.0.0.1:{self.port}"
        )
        self._props.write_text(text)
        self._java("kafka.tools.StorageTool", "format", "-t", self._java("kafka.tools.StorageTool", "random-uuid").strip(),
                   "-c", str(self._props), "--ignore-formatted")

    def _java(self, *args: str) -> str:
        return subprocess.run(
            ["java", "-Xmx256m", f"-Dlog4j.configuration=file:{LOG4J}", "-Dtac.kafka.root.logger=WARN,stderr",
             "-cp", self._classpath, *args],
            check=True, capture_output=True, text=True,
        ).stdout.splitlines()[-1]

    def start(self, timeout_s: float = 60) -> None:
        log = open(self.workdir / "broker.out", "ab")
        self._process = subprocess.Popen(
            ["java", "-Xms256m", "-Xmx256m", "-Djava.awt.headless=true", f"-Dkafka.logs.dir={self.workdir}",
             f"-Dlog4j.configuration=file:{LOG4J}", "-cp", self._classpath, "kafka.Kafka", str(self._props)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"disposable broker exited: see {self.workdir / 'broker.out'}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError("disposable broker did not open its port")

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait(timeout=30)
        self._process = None
