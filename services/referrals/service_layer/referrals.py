"""Command handlers for referrals: made by the child's setting under a consent covering the
receiver for `referral`; accepted, declined or closed by the receiver (while a consent still
covers it), withdrawn by the referrer. Accepting also puts the receiver on the team
(TeamMemberJoined, joined_through=referral_accepted): two events, one transaction."""

from __future__ import annotations

from uuid import UUID, uuid4

from schemas.events import referrals as ev
from schemas.vocabulary import Agency, Category, TeamJoinRoute
from services.common.directory import NationalCode, Organisation
from services.common.errors import Invalid, NotFound
from services.referrals.domain import access, commands as c, rules, team
from services.referrals.domain.rules import ReferralRecord
from services.referrals.domain.state_machine import REFERRAL, ReferralAction, ReferralState
from services.referrals.service_layer import membership
from services.referrals.service_layer.consent_checks import require_consent, require_named, retried_for_missing_consent
from services.referrals.service_layer.guards import advance, allow, load_child, moved
from services.referrals.service_layer.unit_of_work import Deps, UnitOfWork, unit_of_work


@retried_for_missing_consent
def make_referral(deps: Deps, caller, child_id: UUID, cmd: c.MakeReferral) -> dict:
    with unit_of_work(deps) as uow:
        child = load_child(uow, caller, child_id)
        allow(rules.require_setting, caller, child, "make a referral")
        if cmd.to_organisation_id == caller.organisation_id:
            raise Invalid("to_organisation_id: an organisation does not refer a child to itself", field="to_organisation_id")
        receiver = require_named(uow, cmd.to_organisation_id, cmd.to_agency, "to_organisation_id", "to_agency")
        # DESIGN §3: the referral itself is shared with the receiver, so at this moment an
        # active consent must name the receiver (or its agency) for the `referral` category.
        consent_id = require_consent(uow, child_id, cmd.to_organisation_id, cmd.to_agency, Category.REFERRAL)
        referral_id = uuid4()
        uow.store.add_referral(referral_id=referral_id, child_id=child_id,
                               from_organisation_id=caller.organisation_id, from_agency=str(caller.agency),
                               to_organisation_id=cmd.to_organisation_id, to_agency=str(cmd.to_agency), reason=cmd.reason,
                               consent_id=consent_id, state=str(ReferralState.MADE), made_on=uow.today, updated_at=uow.now)
        event_id = uow.emit(caller, child_id, ev.ReferralMade(
            referral_id=referral_id, to_organisation_id=cmd.to_organisation_id, to_agency=cmd.to_agency,
            reason=cmd.reason, consent_id=consent_id))
    return {"referral_id": referral_id, "event_id": event_id, "consent_id": consent_id, "state": ReferralState.MADE,
            "to_organisation_id": receiver.id, "to_organisation_name": receiver.name}


def _load_referral(uow: UnitOfWork, caller, referral_id: UUID) -> ReferralRecord:
    """The referral, or the 404 of an unknown id when the caller may not know of its child; the
    receiver of a referral still waiting for its answer knows of it (it is addressed to it)."""
    missing = NotFound(f"no referral {referral_id}")
    referral = uow.store.get_referral(referral_id)
    if referral is None:
        raise missing
    waiting = (referral.to_organisation_id,) if referral.state == ReferralState.MADE else ()
    load_child(uow, caller, referral.child_id, missing=missing, addressees=waiting)
    return referral


def _move_referral(deps: Deps, caller, referral_id: UUID, action: ReferralAction, rule, payload, note: str | None,
                   then=None, answer: bool = False) -> dict:
    with unit_of_work(deps) as uow:
        referral = _load_referral(uow, caller, referral_id)
        allow(*rule(referral))
        if answer:
            _consent_still_covers_receiver(uow, referral)
        new_state = advance(REFERRAL, referral.state, action)
        moved(uow.store.move("referrals", referral_id, expected_state=referral.state,
                             state=new_state, updated_at=uow.now, note=note), "the referral")
        # Every answer names the organisation whose request it answers (DESIGN §3 rule 3).
        event_id = uow.emit(caller, referral.child_id, payload(referral.from_organisation_id))
        joined = then(uow, referral) if then else None
    out = {"referral_id": referral_id, "event_id": event_id, "state": new_state}
    if then:
        out["team_event_id"] = joined
    return out


def _consent_still_covers_receiver(uow: UnitOfWork, referral: ReferralRecord) -> None:
    """Answering a referral (accepting it, declining it) needs an active consent that still
    covers the receiver for `referral`: without one it may no longer read the referral (GET
    /referrals/{id} answers it the 404 of an unknown id), so an answer must not confirm it
    either — and accepting would put it on the team the family's consent no longer reaches."""
    state = uow.store.consent_state_for(referral.child_id)
    receiver = access.named(referral.to_organisation_id, referral.to_agency)
    if access.consent_covering(receiver, referral.child_id, Category.REFERRAL, uow.now, state) is None:
        raise NotFound(f"no referral {referral.referral_id}")


def _receiver_joins(caller):
    def join(uow: UnitOfWork, referral: ReferralRecord) -> UUID | None:
        # A referral can be declined, so its receiver joins the team when it accepts, in the
        # transaction of the acceptance (services/referrals/README.md).
        organisation = uow.deps.directory.get(referral.to_organisation_id)
        if organisation is None:  # a referral made before the directory: what it was made to
            organisation = Organisation(id=referral.to_organisation_id, name=referral.to_organisation_id,
                                        agency=Agency(referral.to_agency),
                                        national_code=NationalCode(scheme="urn", value="unknown"))
        child = uow.store.get_child(referral.child_id)
        return membership.join(uow, caller, child, organisation, role=team.role_of(caller),
                               through=TeamJoinRoute.REFERRAL_ACCEPTED, request_id=referral.referral_id)
    return join


def accept_referral(deps: Deps, caller, referral_id: UUID) -> dict:
    return _move_referral(deps, caller, referral_id, ReferralAction.ACCEPT,
                          lambda r: (rules.require_receiver, caller, r, "accept"),
                          lambda by: ev.ReferralAccepted(referral_id=referral_id, requested_by_organisation_id=by), None,
                          then=_receiver_joins(caller), answer=True)


def decline_referral(deps: Deps, caller, referral_id: UUID, cmd: c.DeclineReferral) -> dict:
    return _move_referral(deps, caller, referral_id, ReferralAction.DECLINE,
                          lambda r: (rules.require_receiver, caller, r, "decline"),
                          lambda by: ev.ReferralDeclined(referral_id=referral_id, requested_by_organisation_id=by,
                                                         reason=cmd.reason), cmd.reason, answer=True)


def withdraw_referral(deps: Deps, caller, referral_id: UUID, cmd: c.WithdrawReferral) -> dict:
    return _move_referral(deps, caller, referral_id, ReferralAction.WITHDRAW,
                          lambda r: (rules.require_referrer, caller, r),
                          lambda by: ev.ReferralWithdrawn(referral_id=referral_id, requested_by_organisation_id=by,
                                                          reason=cmd.reason), cmd.reason)


def close_referral(deps: Deps, caller, referral_id: UUID, cmd: c.CloseReferral) -> dict:
    return _move_referral(deps, caller, referral_id, ReferralAction.CLOSE,
                          lambda r: (rules.require_receiver, caller, r, "close"),
                          lambda by: ev.ReferralClosed(referral_id=referral_id, requested_by_organisation_id=by,
                                                       outcome=cmd.outcome), cmd.outcome)
