"""Scan a sheet's <sheetData> with regular expressions, for the plain XML that Excel and most writers produce.

Building ElementTree elements costs ~1 µs each (4–6 s for 100,000 rows of 12 inline-string cells), more than
calamine takes for the whole file; matching whole cells with one expression costs a fraction of that. This
accepts only the plain shapes it knows: a cell it does not recognise is parsed on its own with ElementTree,
and anything else it does not recognise between rows and cells (comments, prefixes, single quotes, CDATA,
another encoding) raises `NotPlain`, and the caller parses the whole part with ElementTree instead.
"""

from __future__ import annotations

import codecs
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator

from defusedxml import ElementTree as SafeET

from .xlsx_values import CellFormats, cell_value, text_of, typed, xml_text

CHUNK = 1 << 20
_PROLOG_ENCODING = re.compile(r'<\?xml[^>]*encoding=["\']([\w.-]+)["\']')
_ROOT = re.compile(r"<([A-Za-z_][\w.-]*)((?:\s+[\w:.-]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)\s*>")
_SHEET_DATA = re.compile(r"<sheetData\s*(/?)>")
_SST = re.compile(r"<sst(?:\s[^<>]*?)?(/?)>")
_STRINGS = re.compile(r'<si><t(?: xml:space="preserve")?>([^<]*)</t></si>|(<si\s*/>|<si></si>)|(<)')
_VALUE = (
    r'(?:<f(?:\s[^<>]*)?(?:/>|>[^<]*</f>))?(?:(<v>)([^<]*)</v>|(<is><t(?: xml:space="preserve")?>)([^<]*)</t></is>)?'
)
# One pass of one expression over a batch of rows: a plain cell (reference, style, type, value or inline text), any
# other cell whole (parsed on its own), a row's start or end, or any other tag, which sends the part to ElementTree.
# Text between tags is skipped, as calamine skips it.
_TOKENS = re.compile(
    r'<c r="([A-Z]+)([0-9]+)"(?: s="([0-9]+)")?(?: t="([A-Za-z]+)")?(?:/>|>' + _VALUE + r"</c>)"
    r"|(<c[\s/>](?:[^>]*/>|.*?</c>))"
    r"|(<row)(?=[\s/>])([^<>]*?)(/?)>"
    r"|(</row\s*>)"
    r"|(<)",
    re.S,
)
_ROW_NUMBER = re.compile(r'\sr="([0-9]+)"')
_COLUMNS: dict[str, int] = {}


class NotPlain(Exception):
    """The part holds XML this scanner does not read; parse it with ElementTree."""


def scan_rows(archive: zipfile.ZipFile, part: str, strings: list[str], formats: CellFormats) -> Iterator[tuple]:
    """Yield (row index, {column index: text}) for the cells calamine counts as used, in file order."""
    row_index = [0]
    with archive.open(part) as stream:
        batches = _batches(stream, _SHEET_DATA, "</row>", "</sheetData>")
        wrap = _wrapper(next(batches))
        for batch in batches:
            yield from _rows(batch, row_index, wrap, strings, formats)


def scan_shared_strings(archive: zipfile.ZipFile) -> list[str]:
    """Return the shared strings table when every entry is plain text (as Excel and XlsxWriter write it)."""
    if "xl/sharedStrings.xml" not in archive.NameToInfo:
        return []
    strings: list[str] = []
    with archive.open("xl/sharedStrings.xml") as stream:
        batches = _batches(stream, _SST, "</si>", "</sst>")
        _check_encoding(next(batches))
        for batch in batches:
            for text, empty, _other in _STRINGS.findall(batch):
                if empty:
                    strings.append("")
                elif _other:
                    raise NotPlain("shared string")
                else:
                    try:
                        strings.append(text_of(text) if "&" in text or "\r" in text or "_x" in text else text)
                    except ValueError:
                        raise NotPlain("shared string")
    return strings


def scan_some_shared_strings(stream, wanted: set[int]) -> dict[int, str]:
    """Return {index: text} for the wanted entries of a plain shared strings table, reading no further than the last."""
    found: dict[int, str] = {}
    last = max(wanted)
    index = 0
    batches = _batches(stream, _SST, "</si>", "</sst>")
    _check_encoding(next(batches))
    for batch in batches:
        for match in _STRINGS.finditer(batch):
            text, empty, other = match.groups()
            if other:
                raise NotPlain("shared string")
            if index in wanted:
                try:
                    found[index] = "" if empty else text_of(text)
                except ValueError:
                    raise NotPlain("shared string")
            index += 1
            if index > last:
                return found
    return found


def _batches(stream, start: re.Pattern, cut: str, end: str) -> Iterator[str]:
    """Yield the text before `start`, then the text after it in pieces ending at `cut`, until `end`."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    buffer = ""
    head_done = False
    while True:
        chunk = stream.read(CHUNK)
        try:
            buffer += decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError:
            raise NotPlain("encoding")
        if not head_done:
            found = start.search(buffer)
            if found is None:
                if not chunk:
                    raise NotPlain("start")
                continue
            yield buffer[: found.start()]
            if found.group(1):  # an empty element: nothing inside
                return
            head_done, buffer = True, buffer[found.end() :]
        stop = buffer.find(end)
        if stop >= 0:
            yield buffer[:stop]
            return
        if not chunk:
            raise NotPlain("end")
        at = buffer.rfind(cut)
        if at >= 0:
            yield buffer[: at + len(cut)]
            buffer = buffer[at + len(cut) :]


def _wrapper(head: str) -> tuple[str, str]:
    """Return the root element's start and end tags, to parse an odd cell alone with the root's namespaces."""
    _check_encoding(head)
    root = _ROOT.search(head)
    if root is None:
        raise NotPlain("root")
    return f"<{root.group(1)}{root.group(2)}>", f"</{root.group(1)}>"


def _check_encoding(head: str) -> None:
    encoding = _PROLOG_ENCODING.match(head.lstrip("\ufeff"))
    if encoding and encoding.group(1).lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise NotPlain("encoding")


def _rows(batch: str, counter: list[int], wrap, strings, formats) -> Iterator[tuple[int, dict[int, str]]]:
    """Yield (row, {column: text}) per run of cells in a row; `counter` carries calamine's row index across batches."""
    row_index, column_index = counter[0], 0
    columns = _COLUMNS
    current_row, current = -1, {}
    for (
        letters,
        digits,
        style,
        kind,
        v,
        text,
        inline,
        inline_text,
        whole,
        row,
        attrs,
        empty,
        end,
        _other,
    ) in _TOKENS.findall(batch):
        if letters:
            column = columns.get(letters)
            if column is None:
                column = _column(letters)
            column_index = column + 1
            try:
                if inline:
                    plain = "\r" not in inline_text and "_x" not in inline_text and "&" not in inline_text
                    value = inline_text if plain else text_of(inline_text)
                elif not v or kind == "inlineStr" or kind == "is":
                    continue
                else:
                    if kind == "str" or kind == "d":
                        text = xml_text(text) if "&" in text or "\r" in text else text
                    elif "&" in text:
                        text = text.partition("&")[0]  # calamine reads these types' raw text up to the first entity
                    value = typed(text, kind or None, style or None, strings, formats)
                    if value is None:
                        continue
            except ValueError:
                raise NotPlain("text")
            place = int(digits) - 1
        elif whole:
            (place, column), value = _cell(whole, row_index, column_index, wrap, strings, formats)
            column_index = column + 1
            if value is None:
                continue
        elif row:
            if "'" in attrs or attrs.count('"') % 2:
                raise NotPlain("row attributes")
            number = _ROW_NUMBER.search(attrs)
            if number:
                row_index = int(number.group(1)) - 1
            if empty:
                row_index += 1
            column_index = 0
            continue
        elif end:
            row_index += 1
            column_index = 0
            continue
        else:
            raise NotPlain("tag")
        if place != current_row:
            if current:
                yield current_row, current
            current_row, current = place, {}
        current[column] = value
    if current:
        yield current_row, current
    counter[0] = row_index


def _cell(xml: str, row_index: int, column_index: int, wrap, strings, formats) -> tuple[tuple[int, int], str | None]:
    try:
        holder = SafeET.fromstring(wrap[0] + xml + wrap[1], forbid_dtd=True)
    except ET.ParseError:
        raise NotPlain("cell")
    if len(holder) != 1:
        raise NotPlain("cell")
    element = holder[0]
    ref = element.get("r")
    if ref is None:
        place = (row_index, column_index)
    else:
        split = len(ref.rstrip("0123456789"))
        letters, digits = ref[:split], ref[split:]
        if not (letters.isalpha() and letters.isupper() and digits.isdigit()):
            raise NotPlain("reference")
        place = (int(digits) - 1, _column(letters))
    return place, cell_value(element, {}, strings, formats)


def _column(letters: str) -> int:
    index = _COLUMNS.get(letters)
    if index is None:
        index = 0
        for letter in letters:
            index = index * 26 + (ord(letter) - 64)
        index -= 1
        if len(letters) <= 3:
            _COLUMNS[letters] = index
    return index
