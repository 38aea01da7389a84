from __future__ import annotations

import pytest

from tests.integration.common.broker import DisposableBroker


@pytest.fixture
def disposable_broker(tmp_path, kafka_bootstrap):
    broker = DisposableBroker(tmp_path)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
