"""Form errors the GOV.UK way: an error summary at the top linking to each field in error
(`#<input id>`), and the same message beside the field.

    errors = FormErrors()
    if not email: errors.add("email", "Enter your email address")          # local checks
    try:
        await apis.notifications.subscribe({"email": email})
    except ApiValidationError as e:
        errors = FormErrors.from_api(e, fields={"email": "email"},          # API field -> input id
                                     messages={"email": "Enter an email address in the correct format"})
    if errors: return page.render("...", errors=errors, values=form, status_code=400)

Templates: `{{ error_summary(errors) }}` at the top (templates/macros/forms.html) and
`'errorMessage': errors.message('email')` on the component.
"""

from __future__ import annotations

from collections.abc import Mapping

from services.web.api_clients.errors import ApiValidationError


class FormErrors:
    def __init__(self) -> None:
        self._by_field: dict[str, str] = {}
        self._unplaced: list[str] = []

    def add(self, field_id: str | None, message: str) -> "FormErrors":
        """An error on the input with this id (the first message per field wins), or on the
        form as a whole when `field_id` is None."""
        if field_id:
            self._by_field.setdefault(field_id, message)
        else:
            self._unplaced.append(message)
        return self

    @classmethod
    def from_api(cls, error: ApiValidationError, *, fields: Mapping[str, str] | None = None,
                 messages: Mapping[str, str] | None = None, into: "FormErrors | None" = None) -> "FormErrors":
        """The API's 422 on this form. `fields` maps the API's field name to the input's id
        (without `fields`, the API's names are the ids; with it, a name it does not map goes
        on the form as a whole); `messages` replaces the API's wording for a
        field with the words the page should say."""
        errors = into or cls()
        fields = fields or {}
        messages = messages or {}
        for api_field, api_message in error.fields.items():
            field_id = fields.get(api_field, None if fields else api_field)
            text = messages.get(api_field) or _sentence(api_message)
            errors.add(field_id or None, text)
        return errors

    def check_text(self, field_id: str, value: str, *, empty: str | None, too_long: str, limit: int = 4000) -> str:
        """`value` stripped; an error on the input when it is empty (`empty`, the words; None
        where it may be) or longer than `limit` (`too_long`)."""
        value = value.strip()
        if not value:
            if empty is not None:
                self.add(field_id, empty)
        elif len(value) > limit:
            self.add(field_id, too_long)
        return value

    def __bool__(self) -> bool:
        return bool(self._by_field or self._unplaced)

    def __contains__(self, field_id: str) -> bool:
        return field_id in self._by_field

    def message(self, field_id: str) -> dict[str, str] | None:
        """The component's `errorMessage` for this input, or None."""
        text = self._by_field.get(field_id)
        return {"text": text} if text else None

    @property
    def summary(self) -> list[dict[str, str]]:
        """The `errorList` of govukErrorSummary: each field's message linked to its input."""
        return [{"text": m, "href": f"#{f}"} for f, m in self._by_field.items()] + [{"text": m} for m in self._unplaced]


def _sentence(message: str) -> str:
    message = message.strip() or "This is not valid"
    return message[0].upper() + message[1:]
