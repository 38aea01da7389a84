"""The consent service's pure rules (DESIGN §3): who may record, withdraw and list consents,
what a consent's status is now and which expiry notices it owes, and the safeguarding
break-glass grant. No I/O; the service layer loads and saves.

Every refusal is a `services.common.errors` DomainError whose `field` names the input at
fault, so the API answers 4xx, never 500.

* `access` — the caller, the child's setting and team as this service knows them, who may do what.
* `consents` — a consent, its status and its notices.
* `granting` — recording a consent and its withdrawal.
* `safeguarding` — break-glass access, its listing and who reads its justification.

The names below are the domain's vocabulary for the service layer and the API, one import away.
"""

from services.consent.domain.access import (
    UNKNOWN, Caller, Relationship, is_parent_of, is_setting_of, require_knows_child, require_parent_or_setting,
    require_parent_or_setting_on_behalf, unknown_child, works_with,
)
from services.consent.domain.consents import (
    DEFAULT_CONSENT_MONTHS, ENGLAND, MAX_CONSENT_MONTHS, REMINDER_BEFORE, Consent, ConsentStatus, Giver, Notice,
    NoticeAlreadyEmitted, StoredConsent, Withdrawal,
)
from services.consent.domain.granting import GrantConsent, WithdrawConsent, add_months, grant_consent, withdraw_consent
from services.consent.domain.safeguarding import (
    DESIGNATED_SAFEGUARDING_LEAD, MAX_SAFEGUARDING, MIN_JUSTIFICATION, GrantSafeguardingAccess, SafeguardingAccess,
    SafeguardingScope, grant_safeguarding_access, may_read_justification, require_may_list_safeguarding,
)

__all__ = [
    "Caller", "Consent", "ConsentStatus", "DEFAULT_CONSENT_MONTHS", "DESIGNATED_SAFEGUARDING_LEAD", "ENGLAND",
    "Giver", "GrantConsent", "GrantSafeguardingAccess", "MAX_CONSENT_MONTHS", "MAX_SAFEGUARDING",
    "MIN_JUSTIFICATION", "Notice", "NoticeAlreadyEmitted", "REMINDER_BEFORE", "Relationship",
    "SafeguardingAccess", "SafeguardingScope", "StoredConsent", "UNKNOWN", "WithdrawConsent", "Withdrawal",
    "add_months", "grant_consent", "grant_safeguarding_access", "is_parent_of", "is_setting_of",
    "may_read_justification", "require_knows_child", "require_may_list_safeguarding",
    "require_parent_or_setting", "require_parent_or_setting_on_behalf", "unknown_child", "withdraw_consent",
    "works_with",
]
