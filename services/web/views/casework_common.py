"""What the casework pages share (views/reviews, reports, ehc, transition, safeguarding): the
form as a plain dict, GOV.UK date inputs (day, month, year) read into dates with the error
wording of the Design System, the child as the viewer may see them, today in the UK, the
directory, and the two-step "check your answers" flow that comes before anything that shares
a child's data.

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
from services.web.templating import UK, date_words
from services.web.views.deps import Page
from services.web.words import AGENCIES

STEP_FORM, STEP_EDIT, STEP_CONFIRM = "", "edit", "confirm"


async def read_form(page: Page) -> dict[str, Any]:
    """The posted form: one value per field (stripped), lists for fields sent more than once
    (checkboxes)."""
    form = await page.request.form()
    out: dict[str, Any] = {}
    for key in form.keys():
        if key == "csrf_token":
            continue
        values = [str(v).strip() for v in form.getlist(key)]
        out[key] = values if len(values) > 1 or key.endswith("[]") else values[0]
    return out


def as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    return [v for v in value if v] if isinstance(value, list) else [value]


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


# --- dates ---------------------------------------------------------------------------------


def date_parts(value: date | None) -> dict[str, str]:
    if value is None:
        return {"day": "", "month": "", "year": ""}
    return {"day": str(value.day), "month": str(value.month), "year": str(value.year)}


def date_values(**days: date | None) -> dict[str, str]:
    """A form's date inputs filled in: `date_values(decided_on=d)` gives decided_on_day,
    decided_on_month and decided_on_year."""
    return {f"{name}_{part}": v for name, day in days.items() for part, v in date_parts(day).items()}


def read_date(form: dict[str, Any], name: str, what: str, errors: FormErrors, *, required: bool = True) -> date | None:
    """The date typed in `{name}-day`, `-month`, `-year`; an error on `{name}-day` (the first
    input, where the summary's link lands) in GOV.UK's words. `what` completes "Enter the date
    ..." / "... must be a real date", e.g. "the review is planned for"."""
    field_id = f"{name.replace('_', '-')}-day"
    parts = [form.get(f"{name}_{p}", "") for p in ("day", "month", "year")]
    if not any(parts):
        if required:
            errors.add(field_id, f"Enter the date {what}")
        return None
    missing = [label for label, p in zip(("day", "month", "year"), parts) if not p]
    if missing:
        errors.add(field_id, f"The date {what} must include a {' and '.join(missing)}")
        return None
    try:
        day, month, year = (int(p) for p in parts)
        if year < 1000:
            raise ValueError
        return date(year, month, day)
    except ValueError:
        errors.add(field_id, f"The date {what} must be a real date")
        return None


def date_field_id(name: str) -> str:
    return f"{name.replace('_', '-')}-day"


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


def words_date(value: date | None) -> str:
    return date_words(value) if value else ""


def lines(text: str) -> list[str]:
    """One item a line (blank lines dropped)."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


# --- the form, then "check your answers", then the API ---------------------------------------


async def form_then_check(
    page: Page, form: dict[str, Any], *, template: str, context: dict[str, Any],
    validate: Callable[[dict[str, Any], FormErrors], Any],
    send: Callable[[Any], Awaitable[Any]],
    done: Callable[[Any], str],
    fields: dict[str, str],
    check: Callable[[Any], dict[str, Any]] | None = None,
    on_refused: Callable[[Exception], Awaitable[Response | None]] | None = None,
) -> Response:
    """One POST handler for a form, with (when `check` is given) a check-your-answers step:
    the form's answers are checked here (`validate` adds errors and returns the API's body),
    shown on the check page, and sent to the API only when confirmed. The API's 422 comes
    back on the form, each message by its field (`fields`: API field -> input id)."""
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
        result = await send(body)
    except ApiValidationError as e:
        return await again(api_errors(e, fields))
    except Exception as e:  # noqa: BLE001 - only what the page knows how to say; the rest re-raised
        if on_refused is not None:
            shown = await on_refused(e)
            if shown is not None:
                return shown
        raise
    return RedirectResponse(done(result), status_code=303)
