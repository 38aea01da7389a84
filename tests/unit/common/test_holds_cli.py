"""`tac holds list` / `tac holds release` on a consent copy's database (SQLite here; the
integration tests run them on PostgreSQL against a running timeline)."""

from __future__ import annotations

from uuid import uuid4

import pytest
from sqlalchemy import MetaData, create_engine
from sqlalchemy.orm import Session

from consent_policy.holds import MALFORMED, Hold
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
    assert {line.split("\t")[1] for line in listed} == {str(child), "(every child)"}

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
