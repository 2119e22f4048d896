"""Read one XLSX sheet row by row with the standard library, giving exactly the rows the calamine reader gave.

calamine (fast) loads the whole sheet. This reader scans the sheet part once, a batch of rows at a time
(`xlsx_scan`, regular expressions, for the plain XML nearly every writer produces; anything else is parsed
with `iterparse`, clearing each row), and spools the rows it finds to a temporary file while it learns the
sheet's bounds, which the first row already depends on (every row is as wide as the widest, and numbering
starts from the first used row). Only the shared strings, which rows point into, and the styles' date flags
stay in memory.

Parts the scanner does not read are parsed with defusedxml's parser with DTDs forbidden. `xlsx_check`, which every
caller runs on every part first, already refuses a DTD; refusing it here too means no reader ever depends on that
check having run. defusedxml's ElementTree parser is the pure-Python one (about ten times slower than xml.etree's C
parser), a cost paid only by the parts the regular-expression scanner hands over.
"""

from __future__ import annotations

import marshal
import re
import sys
import tempfile
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from .errors import FileRefused
from .readers import _sheet_part, xlsx_formulas
from .xlsx_scan import NotPlain, scan_rows, scan_shared_strings, scan_some_shared_strings
from .xlsx_values import CellFormats, cell_value, shared_strings, some_shared_strings

# The first rows (detection, the preview) are read in the web request: they read the sheet only down to HEAD_ROWS rows
# holding a value, and of the shared strings only the entries those rows point to, in at most this many unpacked
# bytes of the table. Excel and other writers number strings in the order cells first use them, so a header's are
# among the first few; a table of millions of strings is read whole only by the import itself, in the worker.
HEAD_ROWS = 200
HEAD_STRINGS_BUDGET = 16 * 1024 * 1024


class UnorderedSheet(Exception):
    """The sheet lists rows out of order; only a reader holding the whole sheet can place them."""


def xlsx_stream_rows(path: str | Path, sheet: str, *, scan: bool = True) -> Iterator[tuple[int, list[str]]]:
    """Yield (Excel row number as the calamine reader numbered it, cells) for every row of the sheet.

    Raise `UnorderedSheet` before the first row if rows go backwards in the file.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise FileRefused("The file looks like an Excel workbook but its zip structure is damaged; save it again.")
    with archive, tempfile.TemporaryFile() as spool:
        name, part = _resolve_sheet(archive, sheet)
        try:
            try:
                strings = scan_shared_strings(archive) if scan else shared_strings(archive)
            except NotPlain:
                strings = shared_strings(archive)
            formats = CellFormats.read(archive)
            bounds = None
            if scan:
                try:
                    bounds = _spool_rows(scan_rows(archive, part, strings, formats), spool)
                except NotPlain:
                    spool.seek(0)
                    spool.truncate()
                    scan = False
            if not scan:
                bounds = _spool_rows(_grouped(_cells(archive, part, strings, formats)), spool)
        except ET.ParseError as exc:
            raise FileRefused(f"The workbook cannot be read: a part is not well-formed XML ({exc}).")
        except DefusedXmlException:
            raise FileRefused("The workbook cannot be read: a part declares a DTD or XML entities; it was not opened.")
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise FileRefused(f"The workbook cannot be read: a part is damaged ({exc}).")
        if bounds is None:
            return
        first_row, last_row, last_col = bounds
        by_row: dict[int, list[tuple[int, str]]] = {}
        for (row, column), text in xlsx_formulas(path, name).items():
            by_row.setdefault(row, []).append((column, text))
        spool.seek(0)
        pending = _read_spool(spool)
        next_row, next_cells = next(pending, (None, None))
        width = last_col + 1
        # calamine's rows start at sheet row 1 while the numbering starts at the first used row: kept as it was.
        for index in range(last_row + 1):
            cells = [""] * width
            if index == next_row:
                for column, text in next_cells.items():
                    cells[column] = text
                next_row, next_cells = next(pending, (None, None))
            line = first_row + 1 + index
            for column, text in by_row.get(line, ()):
                if column < width and cells[column] == "":
                    cells[column] = text
            yield line, cells


def xlsx_head_rows(path: str | Path, sheet: str) -> list[tuple[int, list[str]]]:
    """Return the sheet's first `HEAD_ROWS` rows holding a value, numbered as `xlsx_stream_rows` numbers them.

    Only those rows of the sheet, and only the shared strings they use, are read. Rows are as wide as the widest of
    them (the whole sheet's width would take reading all of it). Raise `UnorderedSheet` if rows go backwards.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise FileRefused("The file looks like an Excel workbook but its zip structure is damaged; save it again.")
    with archive:
        name, part = _resolve_sheet(archive, sheet)
        refs = _StringRefs()
        try:
            formats = CellFormats.read(archive)
            try:
                found = _first_rows(scan_rows(archive, part, refs, formats))
            except NotPlain:
                refs = _StringRefs()
                found = _first_rows(_grouped(_cells(archive, part, refs, formats)))
            strings = _some_strings(archive, refs.wanted) if refs.wanted else {}
        except ET.ParseError as exc:
            raise FileRefused(f"The workbook cannot be read: a part is not well-formed XML ({exc}).")
        except DefusedXmlException:
            raise FileRefused("The workbook cannot be read: a part declares a DTD or XML entities; it was not opened.")
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise FileRefused(f"The workbook cannot be read: a part is damaged ({exc}).")
    if not found:
        return []
    first_row = found[0][0]
    width = max(max(cells) for _, cells in found) + 1
    last_line = first_row + 1 + found[-1][0]
    by_line: dict[int, list[str]] = {}
    for row, cells in found:
        line = first_row + 1 + row
        by_line[line] = [""] * width
        for column, value in cells.items():
            by_line[line][column] = strings_resolve(value, strings)
    for (line, column), text in xlsx_formulas(path, name, last_row=last_line).items():
        if first_row < line <= last_line and column < width:
            cells = by_line.setdefault(line, [""] * width)
            if cells[column] == "":
                cells[column] = text
    return sorted(by_line.items())


class _StringRef(int):
    """A cell's index into the shared strings, kept until the strings the first rows use are read."""


class _StringRefs:
    """Stands in for the shared strings table while the first rows are read, noting each entry they use."""

    def __init__(self) -> None:
        self.wanted: set[int] = set()

    def __len__(self) -> int:
        return sys.maxsize

    def __getitem__(self, index: int) -> _StringRef:
        self.wanted.add(index)
        return _StringRef(index)


def strings_resolve(value: str | _StringRef, strings: dict[int, str]) -> str:
    if not isinstance(value, _StringRef):
        return value
    if value not in strings:
        raise FileRefused("The workbook cannot be read: a cell points past the end of the shared strings.")
    return strings[value]


def _first_rows(found: Iterator[tuple[int, dict[int, str]]]) -> list[tuple[int, dict[int, str]]]:
    rows: list[tuple[int, dict[int, str]]] = []
    for row, cells in found:
        if rows and row == rows[-1][0]:
            rows[-1][1].update(cells)
            continue
        if rows and row < rows[-1][0]:
            raise UnorderedSheet(f"row {row + 1} comes after row {rows[-1][0] + 1}")
        if len(rows) == HEAD_ROWS:
            break
        rows.append((row, dict(cells)))
    return rows


class _Budgeted:
    """A part's stream that refuses to give more than `budget` unpacked bytes."""

    def __init__(self, stream, budget: int) -> None:
        self._stream, self._left = stream, budget

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(self._left + 1 if size < 0 else min(size, self._left + 1))
        self._left -= len(data)
        if self._left < 0:
            raise FileRefused(
                "The workbook stores the text of its first rows beyond the first "
                f"{HEAD_STRINGS_BUDGET // (1024 * 1024)} MB of its shared strings, so they cannot be shown here. Open "
                "it in Excel and save it again (which puts them first), or save the sheet as CSV."
            )
        return data


def _some_strings(archive: zipfile.ZipFile, wanted: set[int]) -> dict[int, str]:
    if "xl/sharedStrings.xml" not in archive.NameToInfo:
        return {}
    try:
        with archive.open("xl/sharedStrings.xml") as stream:
            return scan_some_shared_strings(_Budgeted(stream, HEAD_STRINGS_BUDGET), wanted)
    except NotPlain:
        with archive.open("xl/sharedStrings.xml") as stream:
            return some_shared_strings(_Budgeted(stream, HEAD_STRINGS_BUDGET), wanted)


def _resolve_sheet(archive: zipfile.ZipFile, sheet: str) -> tuple[str, str]:
    try:
        workbook = SafeET.fromstring(archive.read("xl/workbook.xml"), forbid_dtd=True)
    except (KeyError, ET.ParseError) as exc:
        raise FileRefused(f"The workbook cannot be read: its sheet list is damaged ({exc}).")
    names = [el.get("name", "") for el in workbook.iter() if el.tag.rpartition("}")[2] == "sheet"]
    name = sheet or (names[0] if names else "")
    if name not in names:
        raise FileRefused(f"The workbook cannot be read: it has no sheet named {name!r}.")
    part = _sheet_part(archive, name)
    if part is None or part not in archive.NameToInfo:
        raise FileRefused(f"The workbook cannot be read: the part of sheet {name!r} is missing.")
    return name, part


def _spool_rows(found: Iterator[tuple[int, dict[int, str]]], spool) -> tuple[int, int, int] | None:
    """Write (row index, {column: text}) per row holding a value; return (first row, last row, last column)."""
    first_row = last_row = last_col = -1
    current = -1
    pending: dict[int, str] = {}
    for row, cells in found:
        if row != current:
            if row < current:
                raise UnorderedSheet(f"row {row + 1} comes after row {current + 1}")
            if pending:
                _spool_write(spool, current, pending)
            pending = cells
            current = row
            if first_row < 0:
                first_row = row
            last_row = row
        else:
            pending.update(cells)
        last_col = max(last_col, max(cells))
    if pending:
        _spool_write(spool, current, pending)
    return None if first_row < 0 else (first_row, last_row, last_col)


def _grouped(cells: Iterator[tuple[int, int, str]]) -> Iterator[tuple[int, dict[int, str]]]:
    current, found = -1, {}
    for row, column, text in cells:
        if row != current and found:
            yield current, found
            found = {}
        current = row
        found[column] = text
    if found:
        yield current, found


def _spool_write(spool, row: int, cells: dict[int, str]) -> None:
    data = marshal.dumps((row, cells))
    spool.write(len(data).to_bytes(4, "little") + data)


def _read_spool(spool) -> Iterator[tuple[int, dict[int, str]]]:
    while size := spool.read(4):
        yield marshal.loads(spool.read(int.from_bytes(size, "little")))  # noqa: S302 - our own spool, written above


_REF = re.compile(r"([A-Z]+)([0-9]+)")


def _cells(archive, part, strings, formats) -> Iterator[tuple[int, int, str]]:
    """Yield (row index, column index, text) for every cell calamine counts as used, in file order."""
    with archive.open(part) as stream:
        context = SafeET.iterparse(stream, events=("start", "end"), forbid_dtd=True)
        local: dict[str, str] = {}
        row_index = col_index = 0
        sheet_data = None
        for event, elem in context:
            tag = local.get(elem.tag)
            if tag is None:
                tag = local[elem.tag] = elem.tag.rpartition("}")[2]
            if event == "start":
                if tag == "sheetData":
                    sheet_data = elem
                elif tag == "row":
                    number = elem.get("r")
                    if number is not None:
                        row_index = _number(number) - 1
                continue
            if tag != "row" or sheet_data is None:
                continue
            for cell in elem:
                if local.get(cell.tag) != "c":
                    continue
                ref = cell.get("r")
                if ref is not None:
                    match = _REF.fullmatch(ref)
                    if match is None:
                        raise FileRefused(f"The workbook cannot be read: bad cell reference {ref!r}.")
                    col_index = _column(match.group(1))
                    position = (_number(match.group(2)) - 1, col_index)
                else:
                    position = (row_index, col_index)
                col_index += 1
                value = cell_value(cell, local, strings, formats)
                if value is not None:
                    yield position[0], position[1], value
            row_index += 1
            col_index = 0
            # Drop the finished row from the tree, so memory stays flat however many rows follow.
            sheet_data.clear()


def _number(text: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise FileRefused(f"The workbook cannot be read: bad row number {text!r}.")
    return int(text)


def _column(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + (ord(letter) - 64)
    return index - 1
