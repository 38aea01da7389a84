"""The referrals service's entry points: one router module per resource (children, referrals,
team, reviews, ehc, transition, caseloads), the consumer of tac.consent.v1 and the review window
task; bootstrap composes them.

Thin: each route builds a command, calls one handler and returns what it says; domain errors
become 403 / 404 / 409 / 422 in services.common.web. Every route naming a child, or a record of
a child, answers 404 — exactly as for an unknown id — to whoever may not know of the child (not
its setting, not on its team, not a parent of it: domain.team); "who" is what a caller who
knows the child must also be (403 otherwise; domain.rules).
Each module's docstring tables its routes: who may call them and the events they cause.
"""
