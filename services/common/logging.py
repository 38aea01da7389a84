"""Structured JSON logs with correlation ids (DESIGN §6).

Every line on stdout is one JSON object with `timestamp` (UTC ISO 8601), `level`, `logger`,
`service`, `correlation_id` (when one is bound) and `event`, whether it came from structlog or
from the standard library (uvicorn, aiokafka, faust, sqlalchemy...).

    configure_logging("consent", settings.log_level)       # once, in the entry point
    log = structlog.get_logger(__name__)

    with bind_correlation_id(envelope.correlationid):      # around handling one message
        ...
        await producer.send(topic, value, key=key, headers=correlation_headers())

Uvicorn: run with `log_config=logging_dict_config(service, level)` (or `log_config=None`
after `configure_logging`), and `access_log=False`: `web.create_app` logs each request itself,
with the correlation id. Faust: pass `logging_config=logging_dict_config(service, level)` to
the worker (it replaces the root logging configuration at start).

Log event names and ids, never a child's personal details or free-text case notes.

A little over 250 lines on purpose: the correlation id's life (bind, headers, HTTP middleware)
and the formatting that stamps it on every line are one concern, and splitting them would
leave each half unable to be read alone.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from contextvars import ContextVar, Token
from types import TracebackType
from typing import IO, Any

import structlog
from structlog.types import EventDict, Processor, WrappedLogger

CORRELATION_HEADER = "correlationid"  # Kafka header (the envelope's extension attribute name)
HTTP_CORRELATION_HEADER = "X-Correlation-ID"

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)

# Same shape as an envelope id: ids from outside are echoed into logs and headers, so only
# plain tokens are accepted (no spaces, quotes or control characters).
_VALID_CORRELATION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")

_service: str = "tac"  # read by the processor, so cached loggers follow reconfiguration
# Kept at WARNING or above whatever the level: SQLAlchemy's INFO lines carry SQL parameters
# (children's personal details) and httpx's carry full URLs (webhook secrets).
_QUIET_LOGGERS = ("sqlalchemy.engine", "sqlalchemy.pool", "httpx", "httpcore")
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


# ---------------------------------------------------------------------------- correlation ids


def new_correlation_id() -> str:
    return str(uuid.uuid4())


def valid_correlation_id(value: str | bytes | None) -> str | None:
    """`value` as a correlation id if it is an acceptable one, else None."""
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            return None
    if isinstance(value, str) and _VALID_CORRELATION_ID.match(value):
        return value
    return None


def get_correlation_id() -> str | None:
    return correlation_id.get()


class bind_correlation_id:  # noqa: N801 - used like a function: bind_correlation_id(x)
    """Bind a correlation id for the current context (logs, outgoing headers, envelopes).

    Takes effect immediately, so it works as a plain setter; used as a context manager it
    restores the previous id on exit. An invalid or missing value gets a fresh id.

        with bind_correlation_id(envelope.correlationid) as cid: ...
    """

    def __init__(self, value: str | bytes | None = None) -> None:
        self.value = valid_correlation_id(value) or new_correlation_id()
        self._token: Token[str | None] = correlation_id.set(self.value)

    def __enter__(self) -> str:
        return self.value

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.reset()

    def reset(self) -> None:
        if self._token is not None:
            try:
                correlation_id.reset(self._token)
            except ValueError:  # reset from another context: leave that context alone
                pass
            self._token = None  # type: ignore[assignment]


def correlation_headers() -> list[tuple[str, bytes]]:
    """Kafka headers carrying the current correlation id (none if none is bound)."""
    value = correlation_id.get()
    return [(CORRELATION_HEADER, value.encode("utf-8"))] if value else []


def correlation_from_headers(
    headers: Iterable[tuple[str, bytes | str | None]] | Mapping[str, bytes | str | None] | None,
) -> str | None:
    """The correlation id in Kafka headers (aiokafka's list of pairs or faust's mapping),
    or None when absent or not a valid id."""
    if not headers:
        return None
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    for key, value in pairs:
        name = key.decode("ascii", "replace") if isinstance(key, bytes) else str(key)
        if name.lower() == CORRELATION_HEADER:
            return valid_correlation_id(value)
    return None


class CorrelationIdMiddleware:
    """ASGI middleware: take `X-Correlation-ID` from the request (or make one), bind it for
    the request's logs and events, and echo it on the response."""

    _HEADER = HTTP_CORRELATION_HEADER.lower().encode("ascii")

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v for k, v in scope.get("headers") or () if k.lower() == self._HEADER), None)
        with bind_correlation_id(incoming) as cid:
            encoded = cid.encode("ascii")

            async def send_with_id(message: MutableMapping[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    headers = [(k, v) for k, v in message.get("headers") or () if k.lower() != self._HEADER]
                    message = {**message, "headers": [*headers, (self._HEADER, encoded)]}
                await send(message)

            await self.app(scope, receive, send_with_id)


# ---------------------------------------------------------------------------- configuration


def _add_service(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    event_dict.setdefault("service", _service)
    return event_dict


def _add_correlation_id(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    cid = correlation_id.get()
    if cid is not None:
        event_dict.setdefault("correlation_id", cid)
    return event_dict


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        _add_service,
        _add_correlation_id,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]


def _drop_color_message(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    event_dict.pop("color_message", None)  # uvicorn's ANSI-coloured duplicate of `event`
    return event_dict


def json_formatter() -> structlog.stdlib.ProcessorFormatter:
    """The stdlib formatter that renders structlog and foreign records as one JSON line."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_shared_processors(), structlog.stdlib.ExtraAdder(), _drop_color_message],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )


def _configure_structlog(service: str) -> None:
    global _service
    _service = service
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def logging_dict_config(service: str, level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` dict sending everything to stdout as JSON; pass it to
    uvicorn (`log_config=`) or faust/mode (`logging_config=`), which configure logging at start."""
    _configure_structlog(service)
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": json_formatter}},
        "handlers": {"stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "json"}},
        "root": {"level": level, "handlers": ["stdout"]},
        "loggers": {
            **{name: {"level": level, "handlers": [], "propagate": True} for name in _UVICORN_LOGGERS},
            **{name: {"level": _at_least_warning(level)} for name in _QUIET_LOGGERS},
        },
    }


def _at_least_warning(level: str) -> str:
    return level if logging.getLevelName(level) >= logging.WARNING else "WARNING"


def configure_logging(service: str, level: str = "INFO", *, stream: IO[str] | None = None) -> None:
    """Send structlog and standard-library logs to `stream` (default: stdout) as JSON lines.
    Safe to call again (tests, reloads): it replaces only the handler it installed before."""
    _configure_structlog(service)
    level = level.upper()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_tac_json", False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream if stream is not None else sys.stdout)
    handler.setFormatter(json_formatter())
    handler._tac_json = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for name in _UVICORN_LOGGERS:
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
        lg.setLevel(level)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(_at_least_warning(level))
