"""Reading what a form posted, for the casework pages (views/casework_common.py): the form as a
plain dict, text with its length checked, and GOV.UK date inputs (day, month, year) read into
dates — each with the error wording of the Design System, on the input the summary links to."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any

from services.web.forms import FormErrors
from services.web.views.deps import Page

MAX_TEXT = 4000


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


def field_id(name: str) -> str:
    """The input's id for the field `name`: the summary's link lands on it."""
    return name.replace("_", "-")


def read_text(form: dict[str, Any], name: str, errors: FormErrors, *, empty: str | None, what: str,
              limit: int = MAX_TEXT) -> str:
    """The text typed in `name`, stripped. An error on its input when it is empty (`empty`, the
    words; None where it may be) or longer than `limit` ("`what` must be 4,000 characters or fewer")."""
    return errors.check_text(field_id(name), str(form.get(name) or ""), empty=empty,
                             too_long=f"{what} must be {limit:,} characters or fewer", limit=limit)


def read_choice(form: dict[str, Any], name: str, choices: Collection[str], errors: FormErrors, *, missing: str) -> str:
    """The option chosen in `name` (radios); an error on it (`missing`) when it is none of `choices`."""
    value = str(form.get(name) or "")
    if value not in choices:
        errors.add(field_id(name), missing)
    return value


def lines(text: str) -> list[str]:
    """One item a line (blank lines dropped)."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


# --- dates ---------------------------------------------------------------------------------


def date_values(**days: date | None) -> dict[str, str]:
    """A form's date inputs filled in: `date_values(decided_on=d)` gives decided_on_day,
    decided_on_month and decided_on_year."""
    return {f"{name}_{part}": "" if day is None else str(getattr(day, part))
            for name, day in days.items() for part in ("day", "month", "year")}


def date_field_id(name: str) -> str:
    return f"{field_id(name)}-day"


# The years a date typed into a form may have. A case's dates fall well inside them, and the
# pages' own arithmetic on a date (a draft plan's 15 days for comments) stays inside what Python's
# `date` can hold: a year of 9999 let "issued + 15 days" fail as an unexpected error (500).
FIRST_YEAR, LAST_YEAR = 1900, 2100


def date_from_parts(day: Any, month: Any, year: Any) -> date | None:
    """The date a GOV.UK date input's three parts give, or None when they are not a real one:
    a part sent twice (a list), not decimal digits, a day or month of more than 2 digits, a year of
    other than 4 (the Design System's rule), a year outside FIRST_YEAR..LAST_YEAR, or no such day.
    Lengths are checked before `int`: a part of thousands of digits is refused, not converted."""
    # Decimal digits of any script: a phone's keyboard in some locales types Arabic-Indic ones
    # into a numeric field, and `int` reads them. (Not `isdigit`: it also takes superscripts,
    # which `int` does not.)
    if not all(isinstance(p, str) and p.isdecimal() for p in (day, month, year)):
        return None
    if len(day) > 2 or len(month) > 2 or len(year) != 4 or not FIRST_YEAR <= int(year) <= LAST_YEAR:
        return None
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def read_date(form: dict[str, Any], name: str, what: str, errors: FormErrors, *, required: bool = True) -> date | None:
    """The date typed in `{name}-day`, `-month`, `-year`; an error on `{name}-day` (the first
    input, where the summary's link lands) in GOV.UK's words. `what` completes "Enter the date
    ..." / "... must be a real date", e.g. "the review is planned for"."""
    error_on = date_field_id(name)
    parts = [form.get(f"{name}_{p}", "") for p in ("day", "month", "year")]
    if not any(parts):
        if required:
            errors.add(error_on, f"Enter the date {what}")
        return None
    missing = [label for label, p in zip(("day", "month", "year"), parts) if not p]
    if missing:
        errors.add(error_on, f"The date {what} must include a {' and '.join(missing)}")
        return None
    found = date_from_parts(*parts)
    if found is None:
        errors.add(error_on, f"The date {what} must be a real date")
    return found


def iso(day: date | None) -> str | None:
    """A date as the APIs take it (None stays None: the API says what is missing)."""
    return day.isoformat() if day else None
