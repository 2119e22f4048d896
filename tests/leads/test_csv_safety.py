"""The formula guard every CSV export writes through."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from leads.csv_safety import formula_safe, formula_safe_writer


@pytest.mark.parametrize(
    "value",
    ["=1+2", "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1", "\n=1", "  =1", " \t-1", "\uff1d1+2", "\uff20SUM(A1)"],
)
def test_a_formula_like_cell_gets_an_apostrophe_and_keeps_its_text(value):
    assert formula_safe(value) == "'" + value


@pytest.mark.parametrize("value", ["Ada", "ada@example.com", "1+2", " hello", "", "'=already quoted"])
def test_plain_text_is_left_as_it_is(value):
    assert formula_safe(value) == value


@pytest.mark.parametrize("value", [-3, 0, 2.5, -0.25, Decimal("-12.50")])
def test_numbers_are_written_as_numbers_even_when_negative(value):
    assert formula_safe(value) == value


def test_none_is_an_empty_cell():
    assert formula_safe(None) == ""


def test_the_writer_guards_every_cell():
    out = io.StringIO()
    formula_safe_writer(out).writerows([["=a", "b", -1, None], ["\r=c", "@d"]])
    rows = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert rows == [["'=a", "b", "-1", ""], ["'\r=c", "'@d"]]
