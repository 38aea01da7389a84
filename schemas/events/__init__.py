"""Event payloads, one module per producing context."""
