"""Errors that domain code raises when a command cannot be carried out.

This module is pure (standard library only) so domain rules and handlers can raise these
without knowing about HTTP. The HTTP status each maps to lives in `services.common.web`:
NotFound -> 404, Conflict -> 409, Forbidden -> 403, Invalid -> 422, any other DomainError -> 400.

`detail` is sent to the caller, so write it for a person and keep personal data out of it.
"""

from __future__ import annotations


class DomainError(Exception):
    """A command was refused for a reason the caller can act on."""

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.detail!r}, field={self.field!r})"


class NotFound(DomainError):
    """The thing named does not exist (or the caller may not know that it does)."""


class Conflict(DomainError):
    """The command clashes with current state, e.g. the referral is already closed."""


class Forbidden(DomainError):
    """The caller is known but may not do this."""


class Invalid(DomainError):
    """A value breaks a domain rule; `field` names the input at fault."""

    def __init__(self, detail: str, *, field: str) -> None:
        super().__init__(detail, field=field)
