"""The receivers notifications deliver to, recording every delivery with the moment it arrived:
a real SMTP server (aiosmtpd, as the integration tests use) and a real HTTP webhook receiver."""

from __future__ import annotations

import email
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

from bench.common import free_port

# The link of a message ends with the entry: .../children/{child}/timeline#{event id}.
_LINK = re.compile(r"/children/([0-9a-f-]{36})/timeline#([0-9a-f-]{36})")


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    child_id: str | None
    about_event_id: str | None
    at: float
    message_id: str = ""  # the same on every attempt of one notification


@dataclass(frozen=True)
class Hook:
    path: str
    body: dict
    at: float


@dataclass
class SmtpSink:
    mails: list[Mail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook
        at = time.time()
        message = email.message_from_bytes(envelope.content)
        text = message.get_payload(decode=True).decode(errors="replace")
        found = _LINK.search(text)
        with self.lock:
            for to in envelope.rcpt_tos:
                self.mails.append(Mail(to, str(message["Subject"]), found and found.group(1),
                                       found and found.group(2), at, str(message["Message-ID"] or "")))
        return "250 Message accepted for delivery"


class Receivers:
    """Both receivers, started and stopped together."""

    def __init__(self) -> None:
        self.smtp = SmtpSink()
        self.smtp_port = free_port()
        self._controller = Controller(self.smtp, hostname="127.0.0.1", port=self.smtp_port)
        self.hooks: list[Hook] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server hook
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._lock:
                    receiver.hooks.append(Hook(self.path, json.loads(body), time.time()))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self.webhook_port = self._http.server_address[1]
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    def webhook_url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.webhook_port}{path}"

    def start(self) -> None:
        self._controller.start()
        self._thread.start()

    def stop(self) -> None:
        self._controller.stop()
        self._http.shutdown()
        self._http.server_close()

    def mails(self) -> list[Mail]:
        with self.smtp.lock:
            return list(self.smtp.mails)

    def webhooks(self) -> list[Hook]:
        with self._lock:
            return list(self.hooks)
