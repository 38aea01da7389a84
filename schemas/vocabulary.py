"""The closed vocabularies every TAC contract uses (DESIGN §1, §3)."""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    """Data categories a parent's consent is given for (DESIGN §3)."""

    CONCERN = "concern"
    REFERRAL = "referral"
    PROGRESS = "progress"
    HEALTH = "health"
    SLT = "slt"
    EP = "ep"
    EHC = "ehc"
    TRANSITION = "transition"
    FAMILY_SUPPORT = "family_support"
    CONSENT = "consent"


# Audit events (who viewed, who was notified) are about the system, not the child's case:
# they never appear on a timeline and no consent can name them.
AUDIT = "audit"


class Agency(StrEnum):
    """Organisation kinds around a child (DESIGN §1); `parent` is the family, not an agency."""

    SETTING = "setting"
    AREA_SENCO = "area_senco"
    EP_SERVICE = "ep_service"
    SLT_SERVICE = "slt_service"
    HEALTH_VISITING = "health_visiting"
    CHILDRENS_CENTRE = "childrens_centre"
    LA_SEN_TEAM = "la_sen_team"
    SCHOOL = "school"
    PARENT = "parent"


class TeamJoinRoute(StrEnum):
    """How an organisation came onto a child's team (DESIGN §3: by relationship, never by
    self-assertion). The first five are requests addressed to the organisation."""

    REFERRAL_ACCEPTED = "referral_accepted"  # it accepted a referral made to it
    EHC_REQUEST = "ehc_request"  # the LA named in an EHC needs assessment request
    ADVICE_REQUEST = "advice_request"  # asked for EHC advice (SEND Regulations 2014 reg. 6(1))
    REVIEW_PARTNER = "review_partner"  # partner of an integrated review
    TRANSITION_PLAN = "transition_plan"  # the school named in a transition plan
    INVITATION = "invitation"  # invited by the setting or a team member, and accepted
    PARENT = "parent"  # added by a parent


class TeamLeaveRoute(StrEnum):
    """How an organisation left a child's team."""

    LEFT = "left"  # the organisation itself left
    REMOVED_BY_SETTING = "removed_by_setting"
    REMOVED_BY_PARENT = "removed_by_parent"


# The role claim of a designated safeguarding lead (Working Together to Safeguard Children
# 2023; EYFS statutory framework 3.7: every setting has a lead practitioner for safeguarding).
# Only a DSL may open safeguarding (break-glass) access for their organisation.
DSL_ROLE = "designated_safeguarding_lead"


class Purpose(StrEnum):
    REFERRAL = "referral"
    ASSESSMENT = "assessment"
    COORDINATION = "coordination"
    TRANSITION = "transition"


class AreaOfNeed(StrEnum):
    """The four broad areas of need, SEND Code of Practice 0-25 (2015) para 5.32 / 6.28."""

    COMMUNICATION_AND_INTERACTION = "communication_and_interaction"
    COGNITION_AND_LEARNING = "cognition_and_learning"
    SOCIAL_EMOTIONAL_AND_MENTAL_HEALTH = "social_emotional_and_mental_health"
    SENSORY_AND_OR_PHYSICAL = "sensory_and_or_physical"


class PrimeArea(StrEnum):
    """EYFS prime areas, assessed in the progress check at two (EYFS statutory framework 2.3)."""

    COMMUNICATION_AND_LANGUAGE = "communication_and_language"
    PHYSICAL_DEVELOPMENT = "physical_development"
    PERSONAL_SOCIAL_AND_EMOTIONAL = "personal_social_and_emotional"


class ProgressOutcome(StrEnum):
    EXPECTED = "expected"
    EMERGING = "emerging"
    BELOW_EXPECTED = "below_expected"


class Reg10_4Exception(StrEnum):
    """SEND Regulations 2014 reg. 10(4): reasons that excuse a missed statutory date.
    Recorded and shown, never applied silently."""

    SETTING_CLOSED_4_WEEKS = "setting_closed_4_weeks"
    EXCEPTIONAL_PERSONAL_CIRCUMSTANCES = "exceptional_personal_circumstances"
    FAMILY_ABSENT_4_WEEKS = "family_absent_4_weeks"


class NotificationChannel(StrEnum):
    INBOX = "inbox"
    EMAIL = "email"
    WEBHOOK = "webhook"
