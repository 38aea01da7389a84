"""Shared code of every TAC service: one service skeleton and one consumer pipeline.

How a service is composed (bootstrap.py; the timeline and notifications are worked examples):

* **Clock** (`clock`): `Clock`, `utc_now`. The only wall clock; handlers read `uow.now`.
* **Unit of work** (`unit_of_work`): `UnitOfWorkFactory(sessions, clock=..., outbox=...,
  processed=..., source=..., on_commit=runtime.committed)`; `with transactions() as uow:`
  gives one transaction holding the state change, the outbox rows (`uow.emit`/`uow.publish`)
  and the claims of consumed event ids (`uow.claim`), then wakes the relay.
* **Handler table** (`messagebus`): `HANDLERS = {ChildRegistered: [keep_consent_state, ...],
  ConcernRaised: [add_entry], ...}`, each handler `handler(envelope, uow)`;
  `MessageBus(HANDLERS).sink(transactions)` applies a batch once per event id in one unit.
* **Consumer pipeline** (`pipeline`): `BatchIngestor(sink, dead_letter, is_transient=...)`
  parses (`incoming.parse_batch`: valid, misrouted, never parseable and the holds that calls
  for), applies, retries what is transient, dead-letters what is not, and returns only when
  every message is applied or parked. Fed by a plain aiokafka consumer (a
  `batch_consumer.BatchConsumer`; `kafka.envelope_consumer` builds one with `sink=` or an async
  `handler=`); `kafka.dead_letter_to` makes the dead-letter callable.
* **Runtime** (`runtime`): `ServiceRuntime(settings, client_id=...)` owns engine, sessions,
  producer, relay and supervised loops; `async with runtime.running(MIGRATIONS): ...` in the
  app's lifespan; `app.state.readiness = runtime.ready`.
* Also: `web.create_app` (the FastAPI app with health, metrics, errors), `entrypoint.run_service`
  (`python -m services.<name> [migrate]`), `settings`, `logging`, `auth`, `directory`, `errors`.
"""
