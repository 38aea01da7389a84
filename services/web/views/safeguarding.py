"""Safeguarding access (break-glass), the deliberately heavy form of UI.md: a warning, the
written reasons, the designated safeguarding lead's name, how long (at most 72 hours) and a
confirmation, then a check-your-answers page. It opens the child's whole timeline to the
viewer's organisation without the family's consent (HM Government, Information sharing advice
for safeguarding practitioners, 2024), so the consent API decides who may: only a designated
safeguarding lead. Others are told, in words, to ask theirs (the form is not offered to them;
a refusal from the API is shown the same way)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import Response

from schemas.vocabulary import DSL_ROLE
from services.web.api_clients import Forbidden
from services.web.forms import FormErrors
from services.web.views.casework_common import child_view, form_then_check
from services.web.views.deps import Page, PractitionerPage
from services.web.views.form_input import read_text

router = APIRouter()

MAX_HOURS = 72
MIN_JUSTIFICATION = 20
ASK_YOUR_DSL = ("Only your organisation’s designated safeguarding lead may grant safeguarding access. "
                "Ask your designated safeguarding lead.")


def _is_dsl(page: Page) -> bool:
    return bool(page.person and page.person.role == DSL_ROLE)


@router.get("/children/{child_id}/safeguarding-access/new")
async def access_form(child_id: UUID, page: PractitionerPage) -> Response:
    child = await child_view(page, child_id)
    values = {"dsl_name": page.person.name if _is_dsl(page) and page.person else "", "hours": "72"}
    return await page.form("safeguarding/new.html", child=child, values=values, may_grant=_is_dsl(page),
                           refused=None if _is_dsl(page) else ASK_YOUR_DSL)


@router.post("/children/{child_id}/safeguarding-access/new")
async def grant(child_id: UUID, page: PractitionerPage) -> Response:
    child = await child_view(page, child_id)
    context = {"child": child, "may_grant": _is_dsl(page), "refused": None}

    def validate(f: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
        reasons = str(f.get("justification") or "").strip()
        if len(reasons) < MIN_JUSTIFICATION:
            errors.add("justification", f"Write why the child’s information must be shared without consent, "
                                        f"in at least {MIN_JUSTIFICATION} characters")
        dsl = read_text(f, "dsl_name", errors, empty="Enter the name of the designated safeguarding lead",
                        what="The name", limit=100)
        hours: float | None = None
        try:
            hours = float(str(f.get("hours") or "").strip())
        except ValueError:
            errors.add("hours", "Enter how many hours the access lasts, as a number, like 24")
        if hours is not None and not 0 < hours <= MAX_HOURS:
            errors.add("hours", f"Safeguarding access lasts at most {MAX_HOURS} hours: enter a number from 1 to {MAX_HOURS}")
            hours = None
        if f.get("confirm") != "yes":
            errors.add("confirm", "Confirm that there is a risk of significant harm and sharing without consent is needed")
        # The consent API records the reasons; the lead's name goes with them in the written record.
        text = f"{reasons}\n\nDesignated safeguarding lead: {dsl}"
        if len(text) > 4000:
            errors.add("justification", "The reasons must be 3,800 characters or fewer")
        return {"justification": text, "hours": hours, "_reasons": reasons, "_dsl": dsl}

    def check(body: dict[str, Any]) -> dict[str, Any]:
        hours = body["hours"]
        return {"heading": "Safeguarding access", "caption": child.title,
                "rows": [("Why", body["_reasons"]), ("Designated safeguarding lead", body["_dsl"]),
                         ("How long", f"{hours:g} hour{'s' if hours != 1 else ''}")],
                "confirm": "Grant safeguarding access",
                "warning": "Your organisation will see everything on this child’s timeline, without the family’s "
                           "consent, until the access ends. Every look is logged, and the child’s setting’s "
                           "designated safeguarding lead is told."}

    async def send(apis: Any, body: dict[str, Any]) -> Any:
        return await apis.consent.grant_safeguarding_access(
            child_id, {"justification": body["justification"], "hours": body["hours"]})

    async def refused(error: Exception, form: dict[str, Any]) -> Response | None:
        if isinstance(error, Forbidden):
            message = error.message.strip()
            words = (message[0].upper() + message[1:] + ("" if message.endswith(".") else ".")) if message else ASK_YOUR_DSL
            return await page.render("safeguarding/new.html", values=form, errors=FormErrors(), status_code=403,
                                     **{**context, "may_grant": False, "refused": words})
        return None

    return await form_then_check(
        page, template="safeguarding/new.html", context=context, validate=validate, check=check, send=send,
        done=lambda _: f"/children/{child_id}", on_refused=refused,
        fields={"justification": "justification", "hours": "hours"})
