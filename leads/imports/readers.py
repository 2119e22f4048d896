"""Stream rows out of a text list (CSV/TSV/TXT) or an XLSX sheet, refusing unsafe or unreadable files.

Rows come out as lists of strings, numbered as the user sees them (file line for text, sheet row for
XLSX), so every message can say where. Nothing here holds the whole file in memory: XLSX sheets stream
through `xlsx_stream` (calamine, which loads a whole sheet, is kept for sheet names, for sheets listing rows
out of order, and as the oracle the streaming reader is tested against).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import pyexpat
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from .errors import FileRefused

FIELD_LIMIT = csv.field_size_limit()
# Ratios above this between a zip member's unpacked and packed size are what zip bombs look like;
# real sheets compress about 5–20×.
MAX_ZIP_RATIO = 200
MAX_ZIP_MEMBERS = 5000
DTD_CHECK_CHUNK = 16 * 1024


@dataclass(frozen=True)
class ReadSpec:
    """How to read one file: set by detection, changed by the user's overrides."""

    kind: str  # "text" or "xlsx"
    encoding: str = "utf-8"
    bom_length: int = 0
    delimiter: str = ","
    sheet: str = ""


def iter_rows(path: str | Path, spec: ReadSpec) -> Iterator[tuple[int, list[str]]]:
    """Yield (row number as the user sees it, cells) for every row of the file, header included."""
    if spec.kind == "xlsx":
        yield from _xlsx_rows(path, spec.sheet)
    else:
        yield from _text_rows(path, spec)


def head_rows(path: str | Path, spec: ReadSpec) -> Iterator[tuple[int, list[str]]]:
    """Yield the first rows of the file as `iter_rows` does, reading only as much of an XLSX as they need.

    Detection and the preview run in the web request: they must not read a whole workbook (its shared strings
    can be hundreds of MB unpacked). A text file streams, so it is read lazily as far as the caller goes.
    """
    if spec.kind != "xlsx":
        yield from _text_rows(path, spec)
        return
    from .xlsx_stream import UnorderedSheet, xlsx_head_rows

    try:
        rows = xlsx_head_rows(path, spec.sheet)
    except UnorderedSheet:
        yield from _xlsx_rows_calamine(path, spec.sheet)
        return
    yield from rows


def _text_rows(path: str | Path, spec: ReadSpec) -> Iterator[tuple[int, list[str]]]:
    with open(path, "rb") as raw:
        raw.seek(spec.bom_length)
        text = io.TextIOWrapper(raw, encoding=spec.encoding, errors="strict", newline="")
        # NUL bytes break the csv module in some Pythons and PostgreSQL refuses them in text: drop them.
        lines = (line.replace("\x00", "") if "\x00" in line else line for line in text)
        reader = csv.reader(lines, delimiter=spec.delimiter, strict=False)
        line = 1
        try:
            for row in reader:
                yield line, row
                line = reader.line_num + 1
        except UnicodeDecodeError as exc:
            raise FileRefused(
                f"Near line {line} the file is not valid {spec.encoding}: byte "
                f"{exc.object[exc.start : exc.start + 1]!r} cannot be read. "
                "Choose another encoding (Windows-1252 is the usual one for Excel CSV files)."
            )
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise FileRefused(
                    f"Line {line}: a cell is longer than {FIELD_LIMIT:,} characters, the most a CSV cell may hold "
                    'here. This usually means a quote (") is never closed; fix that line and upload again.'
                )
            raise FileRefused(f"Line {line}: the file cannot be read as CSV ({exc}).")


def xlsx_check(path: str | Path, *, max_unpacked_bytes: int) -> list[str]:
    """Refuse zip bombs, XML entity tricks and non-workbooks before any XLSX parser sees the file.

    Return the workbook's sheet names. Sizes come from the zip directory (which a bomb can fake), so
    the readers also stop at the same limit while inflating.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise FileRefused("The file looks like an Excel workbook but its zip structure is damaged; save it again.")
    with archive:
        members = archive.infolist()
        names = {m.filename for m in members}
        if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
            raise FileRefused(
                "The file is a zip archive but not an Excel workbook (.xlsx); a Word or other document renamed to "
                ".xlsx cannot be imported."
            )
        if len(members) > MAX_ZIP_MEMBERS:
            raise FileRefused(f"The workbook holds {len(members):,} parts; a list of leads needs far fewer.")
        total = 0
        for member in members:
            total += member.file_size
            ratio = member.file_size / max(member.compress_size, 1)
            if member.file_size > 1024 * 1024 and ratio > MAX_ZIP_RATIO:
                raise FileRefused(
                    f"The workbook part {member.filename} unpacks {ratio:,.0f} times larger than it is stored "
                    "(a zip bomb pattern); it was not opened."
                )
        if total > max_unpacked_bytes:
            raise FileRefused(
                f"The workbook unpacks to {total / 1e6:,.0f} MB, more than the {max_unpacked_bytes / 1e6:,.0f} MB "
                "allowed; split it into smaller files."
            )
        for member in members:
            _refuse_dtd(archive, member)
        try:
            SafeET.fromstring(archive.read("[Content_Types].xml"), forbid_dtd=True)
            workbook = SafeET.fromstring(archive.read("xl/workbook.xml"), forbid_dtd=True)
        except (DefusedXmlException, SafeET.ParseError) as exc:
            raise FileRefused(f"The workbook's structure cannot be read safely ({exc.__class__.__name__}).")
    sheets = [el.get("name", "") for el in workbook.iter() if el.tag.endswith("}sheet") or el.tag == "sheet"]
    if not sheets:
        raise FileRefused("The workbook has no sheets.")
    return sheets


class _DtdFound(Exception):
    pass


class _RootReached(Exception):
    pass


def _dtd_found(*args) -> None:
    raise _DtdFound


def _root_reached(*args) -> None:
    raise _RootReached


def _refuse_dtd(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
    """Refuse a part that declares a DTD (billion laughs, quadratic blow-up, external entities).

    Every part is checked, whatever its name: a sheet is wherever the relationships point (`sheet1.dat`). The
    part goes through expat, the parser every reader here uses, so its encoding, comments and processing
    instructions are read exactly as the readers will read them, however long the prolog. A DTD can only stand
    before the root element, so expat stops there; a part that is not XML (an image) stops it at its first bytes.
    A handler that raises stops expat at once, so nothing declared is ever expanded: the refusal is ours, not
    expat's amplification limit.
    """
    parser = pyexpat.ParserCreate()
    parser.StartDoctypeDeclHandler = _dtd_found
    parser.EntityDeclHandler = _dtd_found
    parser.StartElementHandler = _root_reached
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(DTD_CHECK_CHUNK):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except _DtdFound:
        raise FileRefused(
            f"The workbook part {member.filename} declares a DTD with XML entities (a billion-laughs or "
            "external-entity pattern); it was not opened. Save the workbook again from Excel."
        )
    except (_RootReached, pyexpat.ExpatError, ValueError):
        # ValueError: an encoding expat cannot read; no parser here will read a DTD out of that part either.
        return
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise FileRefused(f"The workbook cannot be read: the part {member.filename} is damaged ({exc}).")


def _xlsx_rows(path: str | Path, sheet: str) -> Iterator[tuple[int, list[str]]]:
    from .xlsx_stream import UnorderedSheet, xlsx_stream_rows

    try:
        yield from xlsx_stream_rows(path, sheet)
    except UnorderedSheet:
        # Raised before any row: a sheet listing rows out of order (no writer we know of does) needs a reader
        # holding the whole sheet to place them.
        yield from _xlsx_rows_calamine(path, sheet)


def _xlsx_rows_calamine(path: str | Path, sheet: str) -> Iterator[tuple[int, list[str]]]:
    """Read the sheet with calamine, which holds the whole sheet in memory."""
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        try:
            worksheet = workbook.get_sheet_by_name(sheet) if sheet else workbook.get_sheet_by_index(0)
            formulas = xlsx_formulas(path, worksheet.name)
            # calamine's range starts at the first used cell; keep row numbers as Excel shows them.
            first_row = (worksheet.start or (0, 0))[0] + 1
            offset_cols = (worksheet.start or (0, 0))[1]
            for index, row in enumerate(worksheet.iter_rows()):
                cells = [xlsx_cell_text(value) for value in row]
                if offset_cols:
                    cells = [""] * offset_cols + cells
                line = first_row + index
                if formulas:
                    for (formula_row, column), text in formulas.items():
                        if formula_row == line and column < len(cells) and cells[column] == "":
                            cells[column] = text
                yield line, cells
        finally:
            workbook.close()
    except CalamineError as exc:
        raise FileRefused(f"The workbook cannot be read: {exc}.")
    except Exception as exc:
        if exc.__class__.__module__.startswith("python_calamine"):
            raise FileRefused(f"The workbook cannot be read ({exc.__class__.__name__}: {exc}).")
        raise


_FORMULA_CELL = re.compile(rb'<c r="([A-Z]+)([0-9]+)"[^>]*>\s*<f(?:\s[^>]*)?>([^<]*)</f>')
_SHEET_REL = re.compile(
    rb'<Relationship [^>]*?Id="([^"]+)"[^>]*?Target="([^"]+)"|<Relationship [^>]*?Target="([^"]+)"[^>]*?Id="([^"]+)"'
)


_ROW_NUMBERS = re.compile(rb'<row [^>]*?r="([0-9]+)"')


def xlsx_formulas(path: str | Path, sheet: str, *, last_row: int | None = None) -> dict[tuple[int, int], str]:
    """Return {(row, column): "=formula"} for the sheet's formula cells (only up to `last_row` if given).

    calamine gives only a formula's cached result, which exporters often leave empty; a value such as
    `=HYPERLINK(...)` typed into a cell must still come through as typed. Parts were vetted by `xlsx_check`.
    """
    with zipfile.ZipFile(path) as archive:
        part = _sheet_part(archive, sheet)
        if part is None:
            return {}
        found: dict[tuple[int, int], str] = {}
        tail = b""
        with archive.open(part) as stream:
            while chunk := stream.read(1 << 20):
                data = tail + chunk
                if b"<f" in data:
                    for match in _FORMULA_CELL.finditer(data):
                        key = (int(match.group(2)), _column_index(match.group(1).decode()))
                        found[key] = "=" + _xml_unescape(match.group(3).decode("utf-8", "replace"))
                tail = data[-4096:]
                if last_row is not None and any(int(n) > last_row for n in _ROW_NUMBERS.findall(chunk)):
                    break
        return found


def _sheet_part(archive: zipfile.ZipFile, sheet: str) -> str | None:
    workbook = SafeET.fromstring(archive.read("xl/workbook.xml"), forbid_dtd=True)
    rel_id = None
    for element in workbook.iter():
        if element.tag.endswith("}sheet") and element.get("name") == sheet:
            rel_id = next((v for k, v in element.attrib.items() if k.endswith("}id")), None)
    if rel_id is None:
        return None
    rels = archive.read("xl/_rels/workbook.xml.rels")
    for match in _SHEET_REL.finditer(rels):
        ident, target = (match.group(1), match.group(2)) if match.group(1) else (match.group(4), match.group(3))
        if ident.decode() == rel_id:
            target = target.decode()
            return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return None


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + (ord(letter) - 64)
    return index - 1


def _xml_unescape(text: str) -> str:
    return (
        text.replace("&quot;", '"')
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
    )


def xlsx_cell_text(value) -> str:
    """Turn a typed XLSX cell into the text the user saw: phones stay digits, dates stay dates."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        # Never scientific notation: 4.4e+11 is not a phone number anyone typed.
        return format(Decimal(repr(value)), "f")
    if isinstance(value, dt.datetime):
        if value.hour == value.minute == value.second == value.microsecond == 0:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value)


def xlsx_sheet_names(path: str | Path) -> list[str]:
    """Return the sheet names calamine sees (after `xlsx_check` has passed)."""
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_path(str(path))
    try:
        return list(workbook.sheet_names)
    finally:
        workbook.close()
