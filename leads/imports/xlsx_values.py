"""Turn XLSX cell XML into the text the calamine reader gave: shared strings, date styles, typed values.

Each rule here copies what calamine 0.37 (through python-calamine 0.9.1) does, so that the streaming reader and
the calamine reader agree cell for cell; tests/leads/test_xlsx_stream.py holds one to the other.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field

from defusedxml import ElementTree as SafeET

from .errors import FileRefused
from .readers import xlsx_cell_text

OTHER, DATE, DURATION = 0, 1, 2
# Built-in number formats calamine reads as dates (14–22 and the East Asian 27–36, 50–58) or a duration (46).
_BUILTIN = {**dict.fromkeys([*range(14, 23), *range(27, 37), 45, 47, *range(50, 59)], DATE), 46: DURATION}
_ERRORS = frozenset({"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!"})
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?:inf|infinity|nan)", re.I)
_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")
_ENTITY = re.compile(r"&(?:(amp|lt|gt|quot|apos)|#([0-9]+)|#x([0-9a-fA-F]+));")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_EPOCH = dt.date(1899, 12, 30).toordinal()
_DAY_MS = 86_400_000
_ISO_DATETIME = re.compile(
    r"\s*\+?([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})T([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:\.([0-9]+))?\s*"
)
_ISO_DATE = re.compile(r"\s*\+?([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})\s*")
_ISO_TIME = re.compile(r"\s*([0-9]{1,2}):([0-9]{1,2})(?::([0-9]{1,2})(?:\.([0-9]+))?)?\s*")


@dataclass
class CellFormats:
    """Whether each cell style (an index into cellXfs) shows a number as a date, a duration or a number."""

    kinds: list[int] = field(default_factory=list)
    is_1904: bool = False

    @classmethod
    def read(cls, archive: zipfile.ZipFile) -> CellFormats:
        formats = cls()
        for element in SafeET.fromstring(archive.read("xl/workbook.xml"), forbid_dtd=True).iter():
            if _local(element.tag) == "workbookPr" and element.get("date1904") is not None:
                formats.is_1904 = element.get("date1904").lower() in ("1", "true")
        if "xl/styles.xml" not in archive.NameToInfo:
            return formats
        codes: dict[str, str] = {}
        root = SafeET.fromstring(archive.read("xl/styles.xml"), forbid_dtd=True)
        for element in root.iter():
            if _local(element.tag) == "numFmt" and element.get("numFmtId") is not None:
                codes[element.get("numFmtId")] = element.get("formatCode", "")
        for group in root:
            if _local(group.tag) != "cellXfs":
                continue
            for xf in group:
                ident = xf.get("numFmtId")
                if ident is None:
                    formats.kinds.append(OTHER)
                elif ident in codes:
                    formats.kinds.append(_custom_kind(codes[ident]))
                else:
                    builtin = ident.isascii() and ident.isdigit()
                    formats.kinds.append(_BUILTIN.get(int(ident), OTHER) if builtin else OTHER)
        return formats

    def kind(self, style: str | None) -> int:
        if style is None:
            return OTHER
        index = int(style) if style.isascii() and style.isdigit() else 0
        return self.kinds[index] if index < len(self.kinds) else OTHER


def _custom_kind(code: str) -> int:
    """Tell a date or duration format by its first section's tokens outside quotes, escapes and [brackets]."""
    escaped = quoted = ampm = hms = False
    brackets = 0
    previous = " "
    for char in code:
        if escaped:
            escaped = False
        elif char in "_\\*":
            escaped = True
        elif quoted:
            quoted = char != '"'
        elif char == '"':
            quoted = True
        elif char == ";":
            return OTHER
        elif char == "[":
            brackets += 1
        elif char == "]" and brackets == 1 and hms:
            return DURATION
        elif char == "]":
            brackets = max(brackets - 1, 0)
        elif char in "aA" and not ampm and brackets == 0:
            ampm = True
        elif brackets == 0 and (char in "pm/PM" if ampm else char in "dmhysDMHYS"):
            return DATE
        elif not (hms and char.lower() == previous.lower()):
            hms = previous == "[" and char in "mhsMHS"
        previous = char
    return OTHER


def shared_strings(archive: zipfile.ZipFile) -> list[str]:
    """Return the shared strings table, clearing each entry's XML as it goes."""
    if "xl/sharedStrings.xml" not in archive.NameToInfo:
        return []
    strings: list[str] = []
    with archive.open("xl/sharedStrings.xml") as stream:
        root = None
        for event, element in SafeET.iterparse(stream, events=("start", "end"), forbid_dtd=True):
            if root is None:
                root = element
            elif event == "end" and _local(element.tag) == "si":
                strings.append(_rich_text(element))
                root.clear()
    return strings


def some_shared_strings(stream, wanted: set[int]) -> dict[int, str]:
    """Return {index: text} for the wanted entries of the shared strings table, reading no further than the last."""
    found: dict[int, str] = {}
    last = max(wanted)
    index = 0
    root = None
    for event, element in SafeET.iterparse(stream, events=("start", "end"), forbid_dtd=True):
        if root is None:
            root = element
        elif event == "end" and _local(element.tag) == "si":
            if index in wanted:
                found[index] = _rich_text(element)
            index += 1
            root.clear()
            if index > last:
                break
    return found


def _rich_text(element: ET.Element) -> str:
    """Join an <si> or <is>'s text and rich-text runs, leaving out phonetic (<rPh>) runs."""
    parts = []
    for child in element:
        name = _local(child.tag)
        if name == "t":
            parts.append(_unescape(child.text or ""))
        elif name == "r":
            parts.extend(_unescape(t.text or "") for t in child if _local(t.tag) == "t")
    return "".join(parts)


def xml_text(raw: str) -> str:
    """Return raw XML character data as an XML parser gives it: line ends normalised, the five entities and
    character references replaced; raise ValueError on anything an XML parser would refuse."""
    if "\r" in raw:
        raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    if "&" in raw:
        if raw.count("&") != len(_ENTITY.findall(raw)):
            raise ValueError(raw)
        raw = _ENTITY.sub(_entity, raw)
    return raw


def _entity(match: re.Match) -> str:
    name, decimal, hexadecimal = match.groups()
    if name:
        return _NAMED[name]
    code = int(decimal) if decimal else int(hexadecimal, 16)
    if not (code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or code >= 0x10000):
        raise ValueError(match.group(0))
    return chr(code)


def text_of(raw: str) -> str:
    """Return the text of an <is><t> taken from raw XML, _xHHHH_ escapes decoded."""
    return _unescape(xml_text(raw))


def _unescape(text: str) -> str:
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


def cell_value(cell: ET.Element, local: dict[str, str], strings: list[str], formats: CellFormats) -> str | None:
    """Return the text of a <c> element, or None where calamine sees no value (the cell does not widen the range)."""
    kind = cell.get("t")
    value = None
    for child in cell:
        name = local.get(child.tag) or _local(child.tag)
        if name == "is":
            value = _rich_text(child)
        elif name == "v":
            value = (
                None if kind in ("inlineStr", "is") else typed(child.text or "", kind, cell.get("s"), strings, formats)
            )
        elif name == "f":
            value = None  # calamine keeps the value of the last child; a formula has none
        else:
            raise FileRefused(f"The workbook cannot be read: unexpected <{name}> in cell {cell.get('r', '')}.")
    return value


def typed(text: str, kind: str | None, style: str | None, strings: list[str], formats: CellFormats) -> str | None:
    if kind == "str":
        return text
    if kind == "d":
        return _iso(text)
    if text == "":
        return None
    if kind == "s":
        index = int(text) if text.isascii() and text.isdigit() else 0
        if index >= len(strings):
            raise FileRefused("The workbook cannot be read: a cell points past the end of the shared strings.")
        return strings[index]
    if kind == "b":
        flag = text.strip().lower()
        if flag not in ("1", "0", "true", "false"):
            raise FileRefused(f"The workbook cannot be read: {text!r} is not a boolean.")
        return "TRUE" if flag in ("1", "true") else "FALSE"
    if kind == "e":
        if text not in _ERRORS:
            raise FileRefused(f"The workbook cannot be read: unsupported cell error {text!r}.")
        return ""
    if kind not in ("n", None):
        raise FileRefused(f"The workbook cannot be read: unknown cell type {kind!r}.")
    if not _NUMBER.fullmatch(text):
        if kind is None:
            return text
        raise FileRefused(f"The workbook cannot be read: {text!r} is not a number.")
    number = float(text)
    shown = formats.kind(style)
    if shown == DURATION:
        return xlsx_cell_text(dt.timedelta(milliseconds=_round(number * _DAY_MS)))
    if shown == DATE:
        return xlsx_cell_text(_excel_datetime(number, formats.is_1904))
    return xlsx_cell_text(number)


def _excel_datetime(value: float, is_1904: bool) -> dt.date | dt.time | float:
    """Convert a serial date as python-calamine does: a time below 1, a date when whole, else a datetime."""
    serial = value + 1462 if is_1904 else value
    if not serial >= 60:
        serial += 1  # Excel's phantom 1900-02-29
    ms = _round(serial * _DAY_MS)
    days, rest = divmod(ms, _DAY_MS)
    clock = (dt.datetime.min + dt.timedelta(milliseconds=rest)).time()
    if value < 1.0:
        return clock if abs(days) < 95_000_000 else value
    try:
        date = dt.date.fromordinal(_EPOCH + days)
    except (ValueError, OverflowError):
        return value
    if value.is_integer() and value < 2.0**64:
        return date
    return dt.datetime.combine(date, clock)


def _round(number: float) -> int:
    """Round half away from zero into an i64, as Rust's `f64::round() as i64` does."""
    if math.isnan(number):
        return 0
    if math.isinf(number) or abs(number) >= 2.0**63:
        return (2**63 - 1) if number > 0 else -(2**63)
    whole = math.floor(abs(number))
    if abs(number) - whole >= 0.5:
        whole += 1
    return int(math.copysign(whole, number))


def _iso(text: str) -> str:
    """Read a t="d" cell as calamine does: an ISO datetime, date or time, else the text as it stands."""
    try:
        if match := _ISO_DATETIME.fullmatch(text):
            y, mo, d, h, mi, s, frac = match.groups()
            second, micro = _second(s, frac)
            value = dt.datetime(int(y), int(mo), int(d), int(h), int(mi), second, micro)
        elif match := _ISO_DATE.fullmatch(text):
            value = dt.date(*(int(part) for part in match.groups()))
        elif match := _ISO_TIME.fullmatch(text):
            h, mi, s, frac = match.groups()
            second, micro = _second(s or "0", frac)
            value = dt.time(int(h), int(mi), second, micro)
        else:
            return text
    except ValueError:
        return text
    return xlsx_cell_text(value)


def _second(second: str, fraction: str | None) -> tuple[int, int]:
    # A leap second (:60) comes through python-calamine as :59.
    return min(int(second), 59) if int(second) == 60 else int(second), int((fraction or "").ljust(6, "0")[:6])


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]
