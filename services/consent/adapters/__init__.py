"""The consent service's adapters: its store on SQLAlchemy (tables and queries, with the copy of
each child's setting and team mounted from consent_policy.store) and the unit of work on it."""
