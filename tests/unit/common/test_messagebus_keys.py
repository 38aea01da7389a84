"""The placeholder key an unknown event is claimed under must stay what it has always been:
stores hold keys made by uuid5, and an upgraded service finds its placeholders by them."""

from uuid import UUID, uuid1, uuid4, uuid5

import pytest

from schemas.envelope import new_event_id
from services.common.messagebus import _PLACEHOLDER_NAMESPACE, placeholder_key


@pytest.mark.parametrize("event_id", [uuid4() for _ in range(200)] + [new_event_id() for _ in range(50)]
                         + [uuid1(), UUID(int=0), UUID(int=2**128 - 1)])
def test_the_key_is_the_uuid5_of_the_id_as_a_string(event_id: UUID) -> None:
    assert placeholder_key(str(event_id)) == str(uuid5(_PLACEHOLDER_NAMESPACE, str(event_id)))


def test_a_known_key_is_unchanged() -> None:
    # uuid5(5b0d6a52-3f57-4c4e-9d1b-7a0c2e1f9a61, the nil id), as stores hold it.
    assert placeholder_key("00000000-0000-0000-0000-000000000000") == "98213883-0bb4-532b-b2f8-b76c2993a83a"
