"""What can go wrong when the web asks an API, as exceptions the error pages are made from.
The API's own words are kept (they may say why), but never logged: they can name case facts."""

from __future__ import annotations


class ApiError(Exception):
    """Base of everything an API client raises."""


class ApiValidationError(ApiError):
    """422: the API refused the input. `fields` maps the API's field name ("" when it named
    none) to its message, in the order given."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k or '-'}: {v}" for k, v in fields.items()))
        self.fields = fields


class NotFound(ApiError):
    """404: no such thing, or one the caller may not know exists (the APIs answer alike)."""


class Conflict(ApiError):
    """409: the thing is not in a state that allows this (already withdrawn, accepted, ...)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Forbidden(ApiError):
    """403: the caller is the wrong party for this action."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAuthenticated(ApiError):
    """401: the token was refused (expired, most likely): the person must sign in again."""


class ServiceUnavailable(ApiError):
    """The API could not be reached, timed out, or failed (5xx)."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service}: {reason}")
        self.service = service
        self.reason = reason
