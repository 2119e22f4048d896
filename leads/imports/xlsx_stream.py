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
from .xlsx_scan import NotPlain, scan_rows, scan_shared_strings
from .xlsx_values import CellFormats, cell_value, shared_strings


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
