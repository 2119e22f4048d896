"""The one formula guard for every CSV the app gives a person (OWASP's CSV injection advice).

Excel, LibreOffice and Google Sheets run a cell that starts with = + - @ as a formula, and also one
that starts with a tab or a line break, or with spaces before such a character (the importer trims
them), or with their full-width forms (Excel in East Asian locales reads ＝ as =). Such a cell gets a
leading apostrophe: the spreadsheet shows it as text and keeps every character of it. Numbers are
written as numbers: a negative number is not a formula.

Every export writes through `formula_safe_writer`, so no cell can miss the guard. Only the import
staging writes CSV without it, because that CSV goes to PostgreSQL's COPY, not to a spreadsheet.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Protocol

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def formula_safe(value: object) -> object:
    """Return the cell as a spreadsheet should read it: text that looks like a formula gets an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return value
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS) or text.lstrip().startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


class FormulaSafeWriter:
    """A csv.writer whose every cell passes through `formula_safe`."""

    def __init__(self, out: _Writable) -> None:
        self._writer = csv.writer(out)

    def writerow(self, row: Iterable[object]) -> Any:
        return self._writer.writerow([formula_safe(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def formula_safe_writer(out: _Writable) -> FormulaSafeWriter:
    """Return a CSV writer to `out` that neutralises formula-like cells."""
    return FormulaSafeWriter(out)
