"""How the outside world drives the consent service: the HTTP routes (api) and the expiry task.
The consumer of tac.referrals.v1 is wired in services.consent.bootstrap."""
