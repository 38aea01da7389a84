"""The one rule for a date typed into a GOV.UK date input (views/form_input.py)."""

from __future__ import annotations

from datetime import date

import pytest

from services.web.views.form_input import date_from_parts


def test_three_parts_of_a_real_date_are_that_date():
    assert date_from_parts("2", "11", "2023") == date(2023, 11, 2)
    assert date_from_parts("02", "01", "1900") == date(1900, 1, 2)
    assert date_from_parts("31", "12", "2100") == date(2100, 12, 31)
    assert date_from_parts("٣", "١٢", "٢٠٢٦") == date(2026, 12, 3)  # Arabic-Indic digits, as some keyboards type


@pytest.mark.parametrize("parts", [
    ("31", "2", "2027"),                 # no such day
    (["1", "2"], "1", "2026"),           # a part sent twice
    ("1", "1", "2026 "),                 # not digits alone
    ("-1", "1", "2026"),
    ("1", "1", "26"),                    # a year of other than 4 digits
    ("1", "1", "02026"),
    ("001", "1", "2026"),                # a day or month of more than 2 digits
    ("1", "99999999999999999999", "2024"),
    ("1", "1", "9" * 4300),              # longer than int() converts
    ("1", "1", "1899"),                  # outside the years a case's dates fall in
    ("25", "12", "9999"),
    ("²", "1", "2026"),                  # a digit to isdigit, not a decimal one
    (None, "1", "2026"),
])
def test_parts_that_are_not_a_real_date_are_none_never_an_exception(parts):
    assert date_from_parts(*parts) is None
