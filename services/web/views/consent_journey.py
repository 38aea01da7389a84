"""The steps of giving a consent, shared by the setting recording it on a parent's behalf
(views/consent.py, /children/…/consents) and the parent giving it (views/parent/consents.py,
/your-child/…/consents): the answers (views/consent_answers.py) kept as a draft in the session,
check your answers, then the consent API. Each side brings its own pages and words."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi.responses import RedirectResponse, Response

from services.web.api_clients import ApiValidationError, NotFound
from services.web.forms import FormErrors
from services.web.templating import UK
from services.web.views.consent_answers import API_FIELDS, ErrorWords, drafts, grant_body, read_answers
from services.web.views.deps import Page

# A step's page: (page, child_id, child, values, errors, status_code) -> the response.
StepPage = Callable[[Page, UUID, dict[str, Any], dict[str, Any], FormErrors, int], Awaitable[Response]]


@dataclass(frozen=True)
class ConsentJourney:
    prefix: str  # the child's pages: "/children" or "/your-child"
    draft_key: str
    error_words: Callable[[dict[str, Any]], ErrorWords]  # the form's words, for this child
    form: StepPage
    check: StepPage
    not_yet_known: str  # while the consent service has not heard of the child yet

    def url(self, child_id: UUID, step: str) -> str:
        return f"{self.prefix}/{child_id}/consents/{step}"

    def draft(self, page: Page, child_id: UUID) -> dict[str, Any] | None:
        return drafts(page, self.draft_key).get(str(child_id))

    async def answers(self, page: Page, child_id: UUID, child: dict[str, Any], submitted: dict[str, Any]) -> Response:
        """The form posted: again with its errors, or kept as the draft and on to check your answers."""
        values, errors = read_answers(submitted, page.request.app.state.directory, self.error_words(child))
        if errors:
            return await self.form(page, child_id, child, values, errors, 400)
        # One draft at a time, so the session cookie stays small.
        page.request.session[self.draft_key] = {str(child_id): values}
        return RedirectResponse(self.url(child_id, "check"), status_code=303)

    async def check_page(self, page: Page, child_id: UUID, child: dict[str, Any]) -> Response:
        values = self.draft(page, child_id)
        if not values:
            return RedirectResponse(self.url(child_id, "new"), status_code=303)
        return await self.check(page, child_id, child, values, FormErrors(), 200)

    async def grant(self, page: Page, child_id: UUID, child: dict[str, Any],
                    granted: Callable[[dict[str, Any], dict[str, Any]], str]) -> Response:
        """The draft sent to the consent API; `granted(consent, body)` keeps what the confirmation
        says and gives its URL."""
        assert page.apis is not None
        values = self.draft(page, child_id)
        if not values:
            return RedirectResponse(self.url(child_id, "new"), status_code=303)
        body = grant_body(values, datetime.now(UK))
        try:
            consent = await page.apis.consent.grant_consent(child_id, body)
        except ApiValidationError as e:
            return await self.form(page, child_id, child, values, FormErrors.from_api(e, fields=API_FIELDS), 400)
        except NotFound:
            # The consent service learns of a child from its registration event: a child
            # registered a moment ago may not have reached it yet. The answers are kept.
            return await self.check(page, child_id, child, values, FormErrors().add(None, self.not_yet_known), 503)
        page.request.session.pop(self.draft_key, None)
        return RedirectResponse(granted(consent, body), status_code=303)
