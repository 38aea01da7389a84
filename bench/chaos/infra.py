"""The soak's own infrastructure, under .local/chaos/ so that killing and restarting it disturbs
nobody: a Kafka broker from the project's jars (tests' DisposableBroker, on its own ports and
data folder) and a PostgreSQL cluster of its own (Debian's binaries, run as the postgres user,
on a free port)."""

from __future__ import annotations

import asyncio
import glob
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench.common import free_port
from services.common.kafka_admin import ensure_topics, wait_for_broker
from tests.integration.common.broker import DisposableBroker

PG_USER = "postgres"
DB_ROLE = "tac"
DB_PASSWORD = "tac"


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("no PostgreSQL server under /usr/lib/postgresql (scripts/pg.sh up installs it)")
    return Path(found[-1]).parent


def _as_postgres(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    # cd /: the postgres user cannot read root's working directory everywhere.
    return subprocess.run(["runuser", "-u", PG_USER, "--", *args], cwd="/", check=check,
                          capture_output=True, text=True)


@dataclass
class ChaosPostgres:
    """A throwaway cluster: initdb into `workdir/data`, one database per service."""

    workdir: Path
    port: int = 0

    def __post_init__(self) -> None:
        self.bin = _pg_bin()
        self.data = self.workdir / "data"
        self.sockets = self.workdir / "sockets"
        self.log = self.workdir / "postgresql.log"
        self.port = self.port or free_port()

    def init(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.sockets.mkdir(parents=True)
        shutil.chown(self.workdir, PG_USER, PG_USER)
        shutil.chown(self.sockets, PG_USER, PG_USER)
        _as_postgres(str(self.bin / "initdb"), "-D", str(self.data), "-U", PG_USER, "--auth=trust", "-E", "UTF8",
                     "--no-sync")

    def _ctl(self, *args: str) -> None:
        options = (f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c max_connections=300 "
                   "-c shared_buffers=64MB")
        result = _as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options,
                              "-w", "-t", "60", *args, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"pg_ctl {' '.join(args)}: {result.stderr or result.stdout} (log {self.log})")

    def start(self) -> None:
        self._ctl("start")

    def restart(self) -> None:
        """Stop at once, as a crash would (immediate: no checkpoint, recovery on start), then start."""
        self._ctl("restart", "-m", "immediate")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            _as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)

    def admin_dsn(self, db: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={PG_USER} dbname={db}"

    def create_databases(self, names: list[str]) -> None:
        with psycopg.connect(self.admin_dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {DB_ROLE} LOGIN PASSWORD '{DB_PASSWORD}'")
            for name in names:
                conn.execute(f"CREATE DATABASE {name} OWNER {DB_ROLE}")

    def url(self, db: str) -> str:
        return f"postgresql+psycopg://{DB_ROLE}:{DB_PASSWORD}@127.0.0.1:{self.port}/{db}"


class ChaosBroker(DisposableBroker):
    """The disposable broker, in a folder of our choosing; `kill` is a hard bounce's first half
    (SIGKILL: no controlled shutdown, the log recovered on start)."""

    def __init__(self, workdir: Path) -> None:
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        super().__init__(workdir)
        # Record timestamps are the broker's append time, not the producer's: the leak check
        # judges each message against the facts *on the topics* by then, and a record a producer
        # stamped before a broker bounce reaches the log only once the broker is back.
        with self._props.open("a") as props:
            props.write("\nlog.message.timestamp.type=LogAppendTime\n")

    def kill(self) -> None:
        self.stop()  # DisposableBroker.stop is SIGKILL to the process group

    def provision(self, partitions: int = 6) -> None:
        asyncio.run(wait_for_broker(self.bootstrap, 60))
        asyncio.run(ensure_topics(self.bootstrap, partitions, timeout_s=60))

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None


def wait_port_closed(port: int, timeout_s: float = 10) -> None:
    import socket
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.3):
                time.sleep(0.1)
        except OSError:
            return
