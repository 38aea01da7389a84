"""The consent service's use cases (handlers, expiry) and the unit-of-work port they run in; no
HTTP, no Kafka, no SQL here."""
