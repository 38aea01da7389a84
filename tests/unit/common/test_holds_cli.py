"""`tac holds list` / `tac holds release` on a consent copy's database (SQLite here; the
integration tests run them on PostgreSQL against a running timeline)."""

from __future__ import annotations

from uuid import uuid4

import pytest
from sqlalchemy import MetaData, create_engine
from sqlalchemy.orm import Session

from consent_policy.holds import MALFORMED, UNKNOWN_TYPE, Hold
from consent_policy.store import ConsentCopy
from services.common.cli import main as tac
from tests.unit.timeline.timeline_builders import NOW


@pytest.fixture
def database(tmp_path):
    url = f"sqlite:///{tmp_path / 'holds.db'}"
    engine = create_engine(url)
    copy = ConsentCopy(metadata := MetaData())
    metadata.create_all(engine)
    yield url, engine, copy
    engine.dispose()


def _hold(engine, copy, child, offset):
    with Session(engine) as session, session.begin():
        copy.place_holds(session, [Hold(child_id=child, why=MALFORMED, reason="malformed JSON: x", held_at=NOW,
                                        topic="tac.consent.v1", partition=0, offset=offset)])


def test_list_shows_each_open_hold_and_release_keeps_who_and_when(database, capsys):
    url, engine, copy = database
    child = uuid4()
    _hold(engine, copy, child, 1)
    _hold(engine, copy, None, 2)
    _hold(engine, copy, child, 1)  # the same message again: one hold
    assert tac(["holds", "list", "--database-url", url]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 2  # same time: in hold id order, so either may come first
    assert {line.split("\t")[2] for line in listed} == {str(child), "(every child)"}

    assert tac(["holds", "release", "--database-url", url, "--child", str(child), "--by", "Ada"]) == 0
    assert tac(["holds", "release", "--database-url", url, "--every-child", "--by", "Ada"]) == 0
    assert tac(["holds", "list", "--database-url", url]) == 0
    assert capsys.readouterr().out.endswith("no open holds\n")
    with Session(engine) as session:
        rows = session.execute(copy.holds.select()).mappings().all()
    assert [(r["released_by"], r["released_at"] is not None) for r in rows] == [("Ada", True), ("Ada", True)]


def test_a_release_names_a_person_and_one_child_or_every_child(database, capsys):
    url, _, _ = database
    with pytest.raises(SystemExit):
        tac(["holds", "release", "--database-url", url, "--child", str(uuid4())])  # no --by
    with pytest.raises(SystemExit):
        tac(["holds", "release", "--database-url", url, "--child", "not-a-uuid", "--by", "Ada"])
    with pytest.raises(SystemExit):
        tac(["holds", "release", "--database-url", url, "--child", str(uuid4()), "--every-child", "--by", "Ada"])
    with pytest.raises(SystemExit):
        tac(["holds", "release", "--database-url", url, "--child", str(uuid4()), "--by", "  "])
    assert tac(["holds", "release", "--database-url", url, "--child", str(uuid4()), "--by", "Ada"]) == 1  # none open


def test_a_database_without_the_table_is_a_one_line_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        tac(["holds", "list", "--database-url", f"sqlite:///{tmp_path / 'empty.db'}"])
    assert "cannot read the holds" in capsys.readouterr().err


def _open(engine, copy):
    with Session(engine) as session:
        return copy.open_holds(session)


def test_one_hold_is_released_by_its_id_and_the_childs_other_holds_stay(database, capsys):
    url, engine, copy = database
    child = uuid4()
    _hold(engine, copy, child, 1)
    _hold(engine, copy, child, 2)
    assert tac(["holds", "list", "--database-url", url]) == 0
    ids = [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()]
    assert sorted(ids) == sorted(h["hold_id"] for h in _open(engine, copy))
    assert tac(["holds", "release", "--database-url", url, "--hold", ids[0], "--by", "Ada"]) == 0
    assert [h["hold_id"] for h in _open(engine, copy)] == [ids[1]]


def test_an_unknown_type_hold_is_released_only_once_its_event_is_applied_or_by_force(database, capsys):
    url, engine, copy = database
    child, event_id = uuid4(), uuid4()
    with Session(engine) as session, session.begin():
        copy.place_holds(session, [Hold(child_id=child, why=UNKNOWN_TYPE, reason="unknown event type", held_at=NOW,
                                        topic="tac.consent.v1", partition=0, offset=3, event_id=event_id,
                                        event_type="tac.consent.consent_paused.v1")])
    assert tac(["holds", "release", "--database-url", url, "--child", str(child), "--by", "Ada"]) == 1
    err = capsys.readouterr().err
    assert "refused" in err and str(event_id) in err and "tac.consent.v1/0@3" in err
    assert len(_open(engine, copy)) == 1
    assert tac(["holds", "release", "--database-url", url, "--child", str(child), "--by", "Ada", "--force"]) == 0
    assert _open(engine, copy) == []
