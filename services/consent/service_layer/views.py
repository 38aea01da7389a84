"""How the consent service's answers present a consent and a safeguarding grant: the JSON
the API returns, with organisations named from the directory and a grant's justification
only for whoever may read it (domain.may_read_justification).
"""

from __future__ import annotations

from datetime import datetime

from services.consent import domain
from services.consent.domain import Caller, StoredConsent
from services.consent.service_layer.unit_of_work import Deps


def consent_view(stored: StoredConsent, now: datetime, deps: Deps) -> dict:
    c = stored.consent
    w = c.withdrawal
    return {
        "consent_id": c.consent_id,
        "child_id": c.child_id,
        "status": c.status(now),
        "given_by": {"name": c.given_by.name, "relationship": c.given_by.relationship,
                     "person_id": c.given_by.person_id,
                     "has_parental_responsibility": c.given_by.has_parental_responsibility},
        "recorded_on_behalf": c.recorded_on_behalf,
        "recorded_by": c.recorded_by.model_dump(mode="json"),
        "recorded_at": c.recorded_at,
        "recorded_by_organisation": deps.summary(c.recorded_by.organisation_id),
        "recipients": {"organisation_ids": list(c.recipient_organisations),
                       "organisations": [deps.summary(o) for o in c.recipient_organisations],
                       "agencies": [a.value for a in c.recipient_agencies]},
        "categories": [x.value for x in c.categories],
        "purposes": [x.value for x in c.purposes],
        "valid_from": c.valid_from,
        "expires_at": c.expires_at,
        "withdrawal": None if w is None else {
            "withdrawn_at": w.withdrawn_at, "recorded_at": w.recorded_at,
            "recorded_on_behalf": w.recorded_on_behalf, "recorded_by": w.recorded_by.model_dump(mode="json"),
            "event_id": stored.withdrawal_event_id,
        },
        "granted_event_id": stored.granted_event_id,
        "expired_event_id": stored.notice_event_ids.get(domain.Notice.EXPIRED),
        "reminder_event_id": stored.notice_event_ids.get(domain.Notice.EXPIRY_REMINDER),
    }


def safeguarding_view(access: domain.SafeguardingAccess, event_id: str, now: datetime, deps: Deps,
                      caller: Caller) -> dict:
    """A grant as `caller` may see it. The justification only to the granting organisation's
    designated safeguarding lead (domain.may_read_justification); a grant of another
    organisation (the setting's DSL's listing) as which organisation, from when, until when."""
    status = "active" if access.is_active(now) else ("expired" if now >= access.expires_at else "not_yet_started")
    view = {
        "grant_id": access.grant_id,
        "child_id": access.child_id,
        "organisation_id": access.organisation_id,
        "organisation": deps.summary(access.organisation_id),
        "granted_at": access.granted_at,
        "expires_at": access.expires_at,
        "status": status,
        "event_id": event_id,
    }
    if caller.organisation_id == access.organisation_id:
        view |= {"granted_by": access.granted_by.model_dump(mode="json"), "notify_role": access.notify_role}
    if domain.may_read_justification(caller, access):
        view["justification"] = access.justification
    return view
