"""The streaming XLSX reader gives, cell for cell, what the calamine reader gives (the oracle)."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pytest
import xlsxwriter

from leads.imports.errors import FileRefused
from leads.imports.readers import ReadSpec, _xlsx_rows_calamine, iter_rows, xlsx_sheet_names
from leads.imports.xlsx_stream import HEAD_ROWS, UnorderedSheet, xlsx_head_rows, xlsx_stream_rows
from tests.leads.import_files import CONTENT_TYPES, ROOT_RELS, WORKBOOK_RELS, shared_dir

SHIPPED = sorted(shared_dir().rglob("*.xlsx"))
NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def assert_same_rows(path: Path) -> None:
    """Compare every sheet, read by both the regex scanner and the ElementTree parser it falls back to."""
    for sheet in ["", *xlsx_sheet_names(path)]:
        try:
            expected = list(_xlsx_rows_calamine(path, sheet))
        except FileRefused:
            for scan in (True, False):
                with pytest.raises(FileRefused):
                    list(xlsx_stream_rows(path, sheet, scan=scan))
            continue
        assert list(xlsx_stream_rows(path, sheet)) == expected, sheet
        assert list(xlsx_stream_rows(path, sheet, scan=False)) == expected, sheet
        assert_first_rows_match(path, sheet, expected)


def assert_first_rows_match(path: Path, sheet: str, expected: list[tuple[int, list[str]]]) -> None:
    """The first rows read alone are the whole reader's rows, as wide as the widest of them (all, in a short sheet)."""
    try:
        head = xlsx_head_rows(path, sheet)
    except UnorderedSheet:
        return
    whole = dict(expected)
    width = len(expected[0][1]) if expected else 0
    if head:
        for line, cells in head:
            assert cells + [""] * (width - len(cells)) == whole[line], (sheet, line)
        last = head[-1][0]
        shown = {line for line, _ in head}
        assert [n for n, c in expected if n <= last and any(c) and n not in shown] == [], sheet
        if len(head) < HEAD_ROWS:
            assert all(len(cells) == width for _, cells in head), sheet
            assert [n for n, c in expected if n > last and any(c)] == [], sheet
    else:
        assert not any(any(cells) for _, cells in expected), sheet


def test_the_shared_corpora_are_found():
    assert any(p.name == "booth-export-with-title-rows.xlsx" for p in SHIPPED)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_workbooks_read_the_same(path):
    assert_same_rows(path)


def write_workbook(path: Path, *, date_1904: bool = False, constant_memory: bool = False, rich: bool = True) -> Path:
    book = xlsxwriter.Workbook(str(path), {"date_1904": date_1904, "constant_memory": constant_memory})
    date, stamp = book.add_format({"num_format": "yyyy-mm-dd"}), book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    clock, span = book.add_format({"num_format": "hh:mm"}), book.add_format({"num_format": "[h]:mm:ss"})
    bold = book.add_format({"bold": True})
    leads = book.add_worksheet("Leads")
    leads.write_row(0, 0, ["Email", "Phone", "Met", "Scanned", "At", "Stay", "VIP", "Score", "Link", "Note"])
    values = [0, 0.5, 1, 59, 60, 61, 366, 45000, 45000.25, 45000.123456789, 0.99999999999, 2958465.9999999, 3e6, -1]
    for r, value in enumerate(values, start=1):
        leads.write_string(r, 0, f"lead{r}@example.com")
        leads.write_number(r, 1, 441234567890 + r)  # phones stored as numbers
        leads.write_number(r, 2, value, date)
        leads.write_number(r, 3, value, stamp)
        leads.write_number(r, 4, value, clock)
        leads.write_number(r, 5, value, span)
        leads.write_boolean(r, 6, r % 2 == 0)
        leads.write_number(r, 7, [4.4e11, 1e22, 0.1 + 0.2, -0.5, 1e-7, 123456789012345678][r % 6])
    leads.write_datetime(1, 8, dt.datetime(2026, 10, 14, 9, 30), stamp)
    leads.write_formula(2, 8, '=HYPERLINK("https://example.com","site")', None, "site")
    leads.write_formula(3, 8, "=1/0", None, "#DIV/0!")
    leads.write_formula(4, 8, "=NA()", None, "#N/A")
    leads.write_formula(5, 8, "=B2*2", None, "")
    leads.write_formula(6, 8, "=B2*2")  # XlsxWriter caches 0
    leads.write_formula(7, 8, '="a"&"b"', None, "ab")
    if rich:  # a rich string makes the shared strings table too odd for the scanner: both paths are read
        leads.write_rich_string(1, 9, "plain ", bold, "bold", " tail ")
    leads.write_string(2, 9, 'line\r\nbreak & <tags> "quoted" _x000D_ ünï')
    leads.write_string(3, 9, "  spaced  ")
    leads.write_string(4, 9, "")
    leads.write_blank(20, 12, None, bold)  # styled blank cells do not widen the range
    gaps = book.add_worksheet("Gaps")
    gaps.write(4, 2, "Email")  # a table starting at C5, with empty rows and columns inside
    gaps.write(4, 5, "Phone")
    gaps.write(7, 2, "a@example.com")
    gaps.write(7, 5, 4930123456)
    gaps.write(12, 8, "far")
    book.add_worksheet("Empty")
    formats = book.add_worksheet("Formats")
    codes = '0.00|#,##0|d-mmm|mmm yyyy|h AM/PM|[$-409]dddd, mmmm d|"days: "0|0\\d|[Red]0|[h]:mm|mm:ss.0|0%|@|yy'
    codes += '|General|#,##0 "h"|[ss]|*-0|a/p|0;[Red]dd|[>=100][Magenta][s].00|#,##0*y'
    for r, code in enumerate(codes.split("|")):
        formats.write_number(r, 0, 45000.75, book.add_format({"num_format": code}))
    for r in range(60):
        formats.write_number(r, 1, 45000.75, book.add_format({"num_format": r}))
    book.close()
    return path


@pytest.mark.parametrize("date_1904", [False, True])
@pytest.mark.parametrize("constant_memory", [False, True])  # shared strings, or inline strings
@pytest.mark.parametrize("rich", [False, True])
def test_generated_workbooks_read_the_same(tmp_path, date_1904, constant_memory, rich):
    path = write_workbook(tmp_path / "made.xlsx", date_1904=date_1904, constant_memory=constant_memory, rich=rich)
    assert_same_rows(path)


def test_the_benchmark_workbook_reads_the_same(tmp_path):
    from bench.bench_import import generate

    assert_same_rows(generate(300, tmp_path)["xlsx"])


def raw_workbook(path: Path, sheet: bytes, *, strings: bytes | None = None, workbook_pr: bytes = b"") -> Path:
    """Write a workbook around hand-written sheet XML (and shared strings), for shapes XlsxWriter never writes."""
    rels = WORKBOOK_RELS
    if strings is not None:
        rels = rels.replace(
            b"</Relationships>",
            b'<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            b'sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        )
    workbook = (
        b'<?xml version="1.0" encoding="UTF-8"?><workbook ' + NS + b' xmlns:r="http://schemas.openxmlformats.org/'
        b'officeDocument/2006/relationships">' + workbook_pr + b'<sheets><sheet name="Sheet1" sheetId="1" '
        b'r:id="rId1"/></sheets></workbook>'
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", workbook)
        archive.writestr("xl/_rels/workbook.xml.rels", rels)
        archive.writestr(
            "xl/worksheets/sheet1.xml", b"<worksheet " + NS + b"><sheetData>" + sheet + b"</sheetData></worksheet>"
        )
        if strings is not None:
            archive.writestr("xl/sharedStrings.xml", b"<sst " + NS + b">" + strings + b"</sst>")
    return path


def cell(ref: str, body: str, kind: str = "") -> bytes:
    return f'<c r="{ref}"{f" t={kind!r}" if kind else ""}>{body}</c>'.replace("'", '"').encode()


HAND_WRITTEN = {
    "iso dates": b'<row r="1">'
    + b"".join(
        cell(f"{chr(65 + i)}1", f"<v>{v}</v>", "d")
        for i, v in enumerate(
            [
                "2024-01-02",
                "2024-01-02T03:04:05",
                "2024-01-02T00:00:00",
                "03:04:05",
                "2024-01-02T03:04:05.123",
                "2024-01-02T03:04:05Z",
                "garbage",
                "",
                "2024-1-2",
                "+2024-01-02",
                "03:04",
                "24:00:00",
                "2024-02-30",
                "2024-01-02T3:4:5",
                " 2024-01-02",
            ]  # fmt: skip
        )
    )
    + b"</row>",
    "errors and booleans": b'<row r="2">'
    + b"".join(cell(f"{chr(65 + i)}2", f"<v>{v}</v>", "e") for i, v in enumerate(["#DIV/0!", "#N/A", "#REF!", ""]))
    + b"".join(cell(f"{chr(70 + i)}2", f"<v>{v}</v>", "b") for i, v in enumerate(["1", "0", "TRUE", "false", ""]))
    + b"</row>",
    "empty values widen or not": b'<row r="1">'
    + cell("A1", "<v>1</v>")
    + b'</row><row r="3">'
    + cell("C3", "<v></v>", "str")
    + cell("D3", "<v></v>", "s")
    + cell("E3", "<v></v>")
    + cell("F3", "<is/>", "inlineStr")
    + b'</row><row r="5">'
    + cell("H5", "<v></v>", "e")
    + b'<c r="I5" s="0"/></row>',
    "numbers as text": b'<row r="1">'
    + b"".join(
        cell(f"{chr(65 + i)}1", f"<v>{v}</v>") for i, v in enumerate(["abc", "1_0", "inf", ".5", "5.", "+5", "1e400"])
    )
    + b"</row>",
    "no references": b"<row><c><v>1</v></c><c><v>2</v></c></row><row>" + cell("C2", "<v>3</v>") + b"<c><v>4</v></c>"
    b'</row><row r="5"><c><v>5</v></c></row><row><c><v>6</v></c></row>',
    "cells out of order in a row": b'<row r="2">' + cell("D2", "<v>4</v>") + cell("B2", "<v>2</v>") + b"</row>",
    "formula children": b'<row r="1">'
    + cell("A1", "<f>1+1</f><v>2</v>")
    + cell("B1", "<v>7</v><f>1+1</f>")
    + cell("C1", "<f>A1&amp;&quot;x&quot;</f>")
    + cell("D1", "<f>A1</f><v></v>", "str")
    + cell("E1", "<is><t>a</t></is><v>7</v>", "inlineStr")
    + b"</row>",
    "inline rich text": b'<row r="1">'
    + cell(
        "A1", '<is><t>a_x000D_b\r\nc</t><r><t xml:space="preserve"> R </t></r><rPh><t>PH</t></rPh></is>', "inlineStr"
    )
    + cell("B1", "<v>a&amp;b&#13;&#10;c</v>", "str")
    + b"</row>",
    "entities and line ends": b'<row r="1">'
    + cell("A1", "<v>A &amp; B &lt;x&gt; &quot;q&quot; &apos;a&apos; &#10;&#x41;\r\nz</v>", "str")
    + cell("B1", "<is><t>A &amp; B &#13;&#x263A;</t></is>", "inlineStr")
    + cell("D1", '<f t="shared" ref="D1:D2" si="0">A1&amp;"x"</f><v>tail</v>', "str")
    + b"</row>",
    "odd but well-formed XML": b'<row r="1" spans="1:3"><!-- a comment --><c r=\'A1\'><v>1</v></c>'
    + b'<c r="B1" t="inlineStr"><is><t><![CDATA[<b>&</b>]]></t></is></c></row>',
    "a lone cell at C3": b'<row r="3">' + cell("C3", "<v>1</v>") + b"</row>",
}


@pytest.mark.parametrize("name", HAND_WRITTEN)
def test_hand_written_sheets_read_the_same(tmp_path, name):
    assert_same_rows(raw_workbook(tmp_path / "hand.xlsx", HAND_WRITTEN[name]))


def test_a_number_holding_an_entity_reads_as_calamine_reads_it_in_the_scanner(tmp_path):
    # calamine reads a number's raw text up to the first entity; the ElementTree fallback cannot see where
    # entities were, so only the scanner (which reads every file Excel and the common writers produce) matches.
    path = raw_workbook(tmp_path / "entity.xlsx", b'<row r="1">' + cell("A1", "<v>1&#48;</v>") + b"</row>")
    assert list(xlsx_stream_rows(path, "")) == list(_xlsx_rows_calamine(path, "")) == [(1, ["1"])]


def test_plain_shared_strings_with_entities_and_escapes_read_the_same(tmp_path):
    strings = (
        b'<si><t>a &amp; b &lt;c&gt; &#10;&#x263A;\r\nd</t></si><si><t xml:space="preserve"> _x000D_ x </t></si><si/>'
    )
    sheet = b'<row r="1">' + b"".join(cell(f"{chr(65 + i)}1", f"<v>{i}</v>", "s") for i in range(3)) + b"</row>"
    assert_same_rows(raw_workbook(tmp_path / "sst.xlsx", sheet, strings=strings))


def test_shared_strings_with_runs_phonetics_and_escapes_read_the_same(tmp_path):
    strings = (
        b"<si><t>plain</t></si><si><r><rPr><b/></rPr><t>bo</t></r><r><t xml:space='preserve'> ld </t></r></si>"
        b"<si><t>a_x000D_b_x005F_x000D_ c</t><rPh><t>X</t></rPh></si><si/><si><t></t></si>"
    )
    sheet = b'<row r="1">' + b"".join(cell(f"{chr(65 + i)}1", f"<v>{i}</v>", "s") for i in range(5)) + b"</row>"
    assert_same_rows(raw_workbook(tmp_path / "sst.xlsx", sheet, strings=strings))


@pytest.mark.parametrize("flag", [b"1", b"true", b"0", b"false"])
def test_the_1904_flag_reads_the_same(tmp_path, flag):
    sheet = b'<row r="1">' + cell("A1", "<v>45000.5</v>").replace(b"<c ", b'<c s="1" ') + b"</row>"
    path = raw_workbook(tmp_path / "1904.xlsx", sheet, workbook_pr=b'<workbookPr date1904="' + flag + b'"/>')
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(
            "xl/styles.xml",
            b"<styleSheet " + NS + b'><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="22"/></cellXfs></styleSheet>',
        )
    assert_same_rows(path)


@pytest.mark.parametrize(
    "sheet",
    [
        b'<row r="1">' + cell("A1", "<v>#SPILL!</v>", "e") + b"</row>",
        b'<row r="1">' + cell("A1", "<v>yes</v>", "b") + b"</row>",
        b'<row r="1">' + cell("A1", "<v>abc</v>", "n") + b"</row>",
        b'<row r="1">' + cell("A1", "<v>5</v>", "s") + b"</row>",
        b'<row r="1">' + cell("A1", "<v>1</v>", "x") + b"</row>",
        b'<row r="1"><c r="A1"><v>1</v></row>',
    ],
)
def test_unreadable_sheets_are_refused_by_both(tmp_path, sheet):
    path = raw_workbook(tmp_path / "bad.xlsx", sheet)
    with pytest.raises(FileRefused):
        list(_xlsx_rows_calamine(path, ""))
    for scan in (True, False):
        with pytest.raises(FileRefused):
            list(xlsx_stream_rows(path, "", scan=scan))


def test_a_damaged_sheet_part_is_refused(tmp_path):
    path = raw_workbook(tmp_path / "crc.xlsx", b'<row r="1">' + cell("A1", "<v>12345</v>") + b"</row>")
    data = bytearray(path.read_bytes())
    at = data.index(b"12345")
    data[at : at + 5] = b"54321"  # stored uncompressed, so the CRC no longer matches
    path.write_bytes(bytes(data))
    for scan in (True, False):
        with pytest.raises(FileRefused, match="damaged"):
            list(xlsx_stream_rows(path, "", scan=scan))


def test_rows_out_of_order_are_left_to_calamine_by_the_import(tmp_path):
    sheet = b'<row r="3">' + cell("B3", "<v>1</v>") + b'</row><row r="1">' + cell("A1", "<v>2</v>") + b"</row>"
    path = raw_workbook(tmp_path / "unordered.xlsx", sheet)
    for scan in (True, False):
        with pytest.raises(UnorderedSheet):
            list(xlsx_stream_rows(path, "", scan=scan))
    assert list(iter_rows(path, ReadSpec(kind="xlsx"))) == list(_xlsx_rows_calamine(path, ""))
