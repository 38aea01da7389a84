"""The Jinja environment: our templates, govuk-frontend-jinja's macros, and a few filters that
write dates and durations as people do (UI.md: `3 December 2026`, `12 days waiting`).

GOV.UK's page template adds the `js-enabled` class with an inline script, which our CSP
(`script-src 'self'`) refuses. The template is served with that one script replaced by an
external file (static/js-enabled.js), so `{% extends "govuk_frontend_jinja/template.html" %}`
still tracks the package; a package whose script differs fails at start, not silently.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, FunctionLoader, PackageLoader, PrefixLoader, select_autoescape

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
GOVUK_TEMPLATE = "govuk_frontend_jinja/template.html"
JS_ENABLED_SRC = "/static/js-enabled.js"
UK = ZoneInfo("Europe/London")


def _inline_script_start(source: str) -> tuple[int, int]:
    start = source.find("<script")
    end = source.find("</script>", start)
    if start < 0 or end < 0 or "js-enabled" not in source[start:end]:
        raise RuntimeError(f"{GOVUK_TEMPLATE} no longer has the inline js-enabled script: check templating.py")
    return start, end + len("</script>")


def _govuk_template_without_inline_script(name: str):
    if name != GOVUK_TEMPLATE:
        return None
    package = PackageLoader("govuk_frontend_jinja")
    source, filename, uptodate = package.get_source(Environment(), "template.html")
    start, end = _inline_script_start(source)
    source = source[:start] + f'<script src="{JS_ENABLED_SRC}"></script>' + source[end:]
    return source, filename, uptodate


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def date_words(value: date | datetime | str | None) -> str:
    """`3 December 2026` (a datetime in UK local time)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(UK) if value.tzinfo else value
        return f"{value.day} {value:%B %Y} at {value:%H:%M}"
    return f"{value.day} {value:%B %Y}"


def days_waiting(n: int | None) -> str:
    if not n:
        return "Since today"
    return f"{_days(int(n))} waiting"


def days_overdue(n: int | None) -> str:
    return f"{_days(int(n or 0))} overdue"


def build_environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader([
            FunctionLoader(_govuk_template_without_inline_script),
            FileSystemLoader(TEMPLATES_DIR),
            PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
        ]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(date_words=date_words, days_waiting=days_waiting, days_overdue=days_overdue)
    env.get_template(GOVUK_TEMPLATE)  # fail at start if the package's template changed shape
    return env


def build_templates() -> Jinja2Templates:
    return Jinja2Templates(env=build_environment())
