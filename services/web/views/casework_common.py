"""What the casework pages share (views/reviews, reports, ehc, transition, safeguarding): the
child as the viewer may see them, today in the UK, the directory, and the two-step "check your
answers" flow that comes before anything that shares a child's data (reading the form itself:
views/form_input.py).

    form = await read_form(page)
    step = form.get("step")                       # "" (the form), "edit" (change answers), "confirm"

Check pages carry the answers in hidden fields (no server-side storage): confirming posts them
again, and the API checks everything once more.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from fastapi.responses import RedirectResponse, Response

from services.common.directory import Directory
from services.web.api_clients import ApiValidationError
from services.web.forms import FormErrors
from services.web.templating import UK
from services.web.views.deps import Page
from services.web.views.form_input import read_form
from services.web.words import AGENCIES

STEP_FORM, STEP_EDIT, STEP_CONFIRM = "", "edit", "confirm"


def directory(page: Page) -> Directory:
    """The organisation directory bootstrap loaded (loaded here once if it did not)."""
    state = page.request.app.state
    found = getattr(state, "directory", None)
    if found is None:
        found = Directory.load(page.settings.directory_path)
        state.directory = found
    return found


def org_name(page: Page, organisation_id: str | None) -> str:
    if not organisation_id:
        return ""
    return directory(page).name_of(organisation_id) or "An organisation not in the directory"


def organisations(page: Page, *agencies: str, exclude: tuple[str | None, ...] = ()) -> list[dict[str, str]]:
    """Directory entries of these kinds of agency (all when none given), by name."""
    return [{"value": o.id, "text": o.name, "agency": o.agency.value,
             "hint": AGENCIES.get(o.agency.value, o.agency.value)}
            for o in directory(page) if (not agencies or o.agency.value in agencies) and o.id not in exclude
            and o.agency.value != "parent"]


def today(page: Page) -> date:
    clock = getattr(page.request.app.state, "clock", None)
    return datetime.fromtimestamp(clock(), UK).date() if clock else datetime.now(UK).date()


# --- the child, as the viewer may see them ----------------------------------------------------


@dataclass
class ChildView:
    child_id: UUID
    name: str | None  # only where the viewer may see the child's details
    setting_name: str
    setting_id: str | None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def called(self) -> str:
        """How pages name the child: their name, or (for a team member who may not see it)
        "a child at <setting>"."""
        return self.name or f"a child at {self.setting_name}"

    @property
    def title(self) -> str:
        return self.name or f"Child at {self.setting_name}"


async def child_view(page: Page, child_id: UUID) -> ChildView:
    """The child (404 -> "Page not found" to whoever may not know of them, like a made-up id)."""
    assert page.apis is not None
    child = await page.apis.referrals.child(child_id)
    name = None
    if not child.get("details_hidden") and child.get("given_name"):
        name = f"{child['given_name']} {child.get('family_name', '')}".strip()
    setting = child.get("setting_organisation_id")
    return ChildView(child_id=child_id, name=name, setting_id=setting,
                     setting_name=child.get("setting_organisation_name") or org_name(page, setting), raw=child)


# --- errors ---------------------------------------------------------------------------------


def api_errors(error: ApiValidationError, fields: dict[str, str], errors: FormErrors | None = None) -> FormErrors:
    """The API's 422 on the page's inputs; a field the page has no input for goes on the form."""
    errors = errors or FormErrors()
    for api_field, message in error.fields.items():
        key = api_field.split(".")[0] if api_field else ""
        field_id = fields.get(api_field) or fields.get(key)
        text = message.strip() or "This is not valid"
        # The API names the field first ("la_organisation_id: ..."): the page says it with the label.
        if key and text.startswith(key) and text[len(key):len(key) + 1] in (":", " "):
            text = text[len(key) + 1:].strip() or text
        errors.add(field_id, text[0].upper() + text[1:])
    return errors


# --- the form, then "check your answers", then the API ---------------------------------------


async def form_then_check(
    page: Page, *, template: str, context: dict[str, Any],
    validate: Callable[[dict[str, Any], FormErrors], Any],
    send: Callable[[Any, Any], Awaitable[Any]],
    done: Callable[[Any], str],
    fields: dict[str, str],
    check: Callable[[Any], dict[str, Any]] | None = None,
    on_refused: Callable[[Exception, dict[str, Any]], Awaitable[Response | None]] | None = None,
) -> Response:
    """One POST handler for a form, with (when `check` is given) a check-your-answers step:
    the form's answers are checked here (`validate` adds errors and returns the API's body),
    shown on the check page, and sent to the API (`send(apis, body)`) only when confirmed. The
    API's 422 comes back on the form, each message by its field (`fields`: API field -> input
    id); `on_refused(error, form)` may show another refusal as a page."""
    assert page.apis is not None
    apis = page.apis
    form = await read_form(page)
    step = str(form.get("step") or "")

    async def again(errors: FormErrors, status: int = 400) -> Response:
        return await page.render(template, values=form, errors=errors, status_code=status, **context)

    if step == STEP_EDIT:
        return await again(FormErrors(), 200)
    errors = FormErrors()
    body = validate(form, errors)
    if errors:
        return await again(errors)
    if check is not None and step != STEP_CONFIRM:
        return await page.render("casework/check.html", check=check(body), values=form,
                                 back=str(page.request.url.path), **context)
    try:
        result = await send(apis, body)
    except ApiValidationError as e:
        return await again(api_errors(e, fields))
    except Exception as e:  # noqa: BLE001 - only what the page knows how to say; the rest re-raised
        if on_refused is not None:
            shown = await on_refused(e, form)
            if shown is not None:
                return shown
        raise
    return RedirectResponse(done(result), status_code=303)


async def child_form(page: Page, child_id: UUID, template: str, values: dict[str, Any] | None = None,
                     **context: Any) -> Response:
    """A form about a child, empty but for `values`."""
    child = await child_view(page, child_id)
    return await page.form(template, child=child, values=values, **context)


async def child_action(
    page: Page, child_id: UUID, *, template: str, validate: Callable[[dict[str, Any], FormErrors], Any],
    send: Callable[[Any, Any], Awaitable[Any]], fields: dict[str, str],
    check: Callable[[Any], dict[str, Any]] | None = None, context: dict[str, Any] | None = None,
) -> Response:
    """A form about a child posted (form_then_check): the form is shown again with the child and
    `context`, check your answers is captioned with the child, and the page goes back to the child's."""
    child = await child_view(page, child_id)
    return await form_then_check(
        page, template=template, context={"child": child, **(context or {})}, validate=validate,
        check=(lambda body: {"caption": child.title, **check(body)}) if check else None,
        send=send, done=lambda _: f"/children/{child_id}", fields=fields)
