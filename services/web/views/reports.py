"""Sharing a report with the team around the child (UI.md): a speech and language therapy
report (assessment summary, programme, recommendations one a line) by an SLT service, and
educational psychology advice (summary, recommendations) by an EP service. Each shares the
child's information, so a check-your-answers page comes before it. Who may share is the
referrals API's decision (403/404 are pages that say so)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import Response

from services.web.forms import FormErrors
from services.web.views.casework_common import child_action, child_form
from services.web.views.deps import PractitionerPage
from services.web.views.form_input import field_id, lines, read_text

router = APIRouter()

MAX_ITEMS = 50
MAX_ITEM = 1000


def _recommendations(form: dict[str, Any], errors: FormErrors) -> list[str]:
    items = lines(str(form.get("recommendations") or ""))
    if len(items) > MAX_ITEMS:
        errors.add("recommendations", f"Write at most {MAX_ITEMS} recommendations, one a line")
    elif any(len(i) > MAX_ITEM for i in items):
        errors.add("recommendations", f"Each recommendation must be {MAX_ITEM:,} characters or fewer")
    return items


@dataclass(frozen=True)
class ReportKind:
    """What differs between the reports: the form, its texts (field, label on check your answers,
    the error when it is empty, how the too-long error names it) and the API call that shares it."""

    template: str
    heading: str
    texts: tuple[tuple[str, str, str, str], ...]
    noun: str
    share: Callable[[Any], Callable[[UUID, dict[str, Any]], Awaitable[Any]]]


SLT_REPORT = ReportKind(
    "reports/slt.html", "Share a speech and language therapy report",
    (("assessment_summary", "Assessment summary", "Enter a summary of the assessment", "The assessment summary"),
     ("programme", "Programme", "Enter the programme for the setting and home", "The programme")),
    noun="report", share=lambda apis: apis.referrals.share_slt_report)
EP_ADVICE = ReportKind(
    "reports/ep_advice.html", "Share educational psychology advice",
    (("summary", "Summary", "Enter a summary of your advice", "The summary"),),
    noun="advice", share=lambda apis: apis.referrals.share_ep_advice)


async def _share(page: PractitionerPage, child_id: UUID, kind: ReportKind) -> Response:
    def validate(f: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
        texts = {name: read_text(f, name, errors, empty=empty, what=what) for name, _, empty, what in kind.texts}
        return {**texts, "recommendations": _recommendations(f, errors)}

    def check(body: dict[str, Any]) -> dict[str, Any]:
        return {"heading": kind.heading,
                "rows": [(label, body[name]) for name, label, _, _ in kind.texts]
                        + [("Recommendations", body["recommendations"])],
                "confirm": f"Share the {kind.noun}",
                "note": f"The {kind.noun} goes on the child’s timeline. Who on the team sees it is decided by the "
                        "family’s consent."}

    return await child_action(
        page, child_id, template=kind.template, validate=validate, check=check,
        send=lambda apis, body: kind.share(apis)(child_id, body),
        fields={**{name: field_id(name) for name, *_ in kind.texts}, "recommendations": "recommendations"})


def _routes(path: str, kind: ReportKind) -> None:
    """The report's form (GET) and its sharing (POST) at `path`."""

    async def form(child_id: UUID, page: PractitionerPage) -> Response:
        return await child_form(page, child_id, kind.template)

    async def share(child_id: UUID, page: PractitionerPage) -> Response:
        return await _share(page, child_id, kind)

    router.add_api_route(path, form, methods=["GET"])
    router.add_api_route(path, share, methods=["POST"])


_routes("/children/{child_id}/slt-reports/new", SLT_REPORT)
_routes("/children/{child_id}/ep-advice/new", EP_ADVICE)
