"""The consent policy: who may see what about a child, and why (DESIGN §3).

A published library beside ``schemas/``, not any service's internals: the consent service and
every service that enforces the rules (referrals, timeline, notifications) import it as peers.
Each of them keeps its own copy of the consent state in its own database; they share this code,
never the data.

* ``consent_policy.decision`` — ``decide(viewer, entry, now, state)``, the six rules, pure.
* ``consent_policy.state`` — ``ConsentState``, the fold of the consent and team events
  (``FOLDED_TYPES``), pure.
* ``consent_policy.records`` — the values both reason about (``Viewer``, ``Entry`` and what each
  folded event says), pure.
* ``consent_policy.holds`` — ``Hold``: which messages a service could not apply close a child's
  consent-based access until a person releases it (fail closed), pure.
* ``consent_policy.store`` — ``ConsentCopy``, the one SQLAlchemy definition of the copy of the
  state a service mounts in its own database (table, fold, loaders). The only module here that
  touches infrastructure.
"""
