"""`make chaos`: the chaos soak of issue 16 (bench/chaos/__main__.py says what it does)."""
