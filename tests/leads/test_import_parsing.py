"""Detection, reading, mapping and cleaning of uploaded lists, against the shared corpora."""

from __future__ import annotations

import json
import zipfile

import pytest

from leads.imports import xlsx_stream
from leads.imports.cleaning import clean_row, is_email, parse_datetime, parse_employees
from leads.imports.errors import FileRefused
from leads.imports.mapping import header_target, headers_signature, propose_mapping
from leads.imports.readers import ReadSpec, iter_rows, xlsx_cell_text
from leads.imports.table import table_inspect, table_rows
from leads.imports.xlsx_stream import xlsx_stream_rows
from tests.leads.import_files import (
    BILLION_LAUGHS,
    count_part_reads,
    many_strings_workbook,
    shared_dir,
    sheet_xml,
    xlsx_bytes,
    zip_bomb_bytes,
)

SHARED = shared_dir()
# csv-spectrum 2.0.0's location_coordinates.json names another phone number than its CSV holds
# (2095257564): the JSON is wrong upstream, the parse is checked against the CSV's text.
UPSTREAM_JSON_ERRATA = {"location_coordinates": {"Contact Phone Number": "2095257564"}}
LIMIT = 10**9


def read(path, **overrides):
    table = table_inspect(path, filename=path.name, max_unpacked_bytes=LIMIT, **overrides)
    return table, [cells for _, cells in table_rows(path, table)]


@pytest.mark.parametrize("name", sorted(p.stem for p in (SHARED / "corpora/csv-spectrum/csvs").glob("*.csv")))
def test_csv_spectrum_file_parses_to_exactly_its_json(name, tmp_path):
    path = SHARED / f"corpora/csv-spectrum/csvs/{name}.csv"
    if name.endswith("_crlf") and b"\r" not in path.read_bytes():
        # The shared copy lost upstream's CRLF line ends (its JSON still expects "\r\n" inside quotes):
        # restore them so the file is the one the JSON describes.
        restored = tmp_path / path.name
        restored.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
        path = restored
    table, rows = read(path)
    expected = json.loads((SHARED / f"corpora/csv-spectrum/json/{name}.json").read_text(encoding="utf-8"))
    if isinstance(expected, dict):  # location_coordinates.json holds its one row as an object
        expected = [expected]
    expected = [{**row, **UPSTREAM_JSON_ERRATA.get(name, {})} for row in expected]
    assert [dict(zip(table.headers, row, strict=True)) for row in rows] == expected


@pytest.mark.parametrize(
    ("name", "encoding", "last_cell"),
    [
        ("test_utf8_bom.csv", "utf-8", "ʤ"),
        ("test_utf16_little.csv", "utf-16-le", "ʤ"),
        ("test_utf16_big.csv", "utf-16-be", "ʤ"),
        ("test_latin1.csv", "cp1252", "©"),
    ],
)
def test_csvkit_encoding_samples_are_detected_and_decoded(name, encoding, last_cell):
    table, rows = read(SHARED / "corpora/csvkit" / name)
    assert table.spec.encoding == encoding
    assert table.headers[0] in {"a", "foo"}  # no BOM left on the first header
    assert rows[-1][-1] == last_cell


def test_encoding_override_changes_what_is_read():
    path = SHARED / "corpora/csvkit/test_latin1.csv"
    _, rows = read(path, encoding="cp437")
    assert rows[-1][-1] == "⌐"  # byte 0xA9 in DOS code page 437


@pytest.mark.parametrize(
    ("name", "delimiter", "header_line", "first_header"),
    [
        ("crm-template-utf8-bom.csv", ",", 1, "First Name"),
        ("cvent-style-badge-scans.csv", ",", 1, "Badge ID"),
        ("excel-german-semicolon-cp1252.csv", ";", 1, "Vorname"),
        ("excel-unicode-text.txt", "\t", 1, "First name"),
        ("booth-export-with-title-rows.xlsx", ",", 3, "First Name"),
    ],
)
def test_shared_lists_are_detected(name, delimiter, header_line, first_header):
    table, rows = read(SHARED / "data" / name)
    expected = json.loads((SHARED / "data/expected.json").read_text(encoding="utf-8"))[name]
    assert table.header_line == header_line
    assert table.headers[0] == first_header
    assert len(rows) == expected["data_rows"]
    if table.spec.kind == "text":
        assert table.spec.delimiter == delimiter
    else:
        assert table.spec.sheet == "Leads"


def test_xlsx_with_an_empty_first_sheet_picks_the_sheet_with_data():
    table, rows = read(SHARED / "corpora/csvkit/sheets.xlsx")
    assert table.spec.sheet != "not this one"
    assert rows


def test_mac_newlines_null_bytes_and_ragged_rows_are_read():
    _, mac = read(SHARED / "corpora/csvkit/mac_newlines.csv")
    assert mac == [["1", "2", "3"], ["Once upon\ra time", "5", "6"]]
    _, nul = read(SHARED / "corpora/csvkit/null_byte.csv")
    assert nul == [["", "2", "3"]]
    _, ragged = read(SHARED / "corpora/csvkit/bad.csv")
    assert [len(row) for row in ragged] == [4, 2, 3]


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"", "empty.csv", "empty"),
        (b"\r\n\r\n", "blank.csv", "empty"),
        (b"%PDF-1.7 rest", "list.csv", "PDF"),
        (b"%PDF-1.7 rest", "list.xlsx", "PDF"),
        (b"a,b,c\n1,2,3\n", "list.xlsx", "not one"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "list.xls", ".xls"),
    ],
)
def test_unreadable_files_are_refused_with_a_clear_message(tmp_path, content, filename, message):
    path = tmp_path / filename
    path.write_bytes(content)
    with pytest.raises(FileRefused, match=message):
        table_inspect(path, filename=filename, max_unpacked_bytes=LIMIT)


def test_field_over_the_csv_limit_is_refused_with_its_line(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text('email,notes\na@example.com,ok\nb@example.com,"' + "x" * 200_000 + '"\n', encoding="utf-8")
    with pytest.raises(FileRefused, match="Line 3: a cell is longer"):
        read(path)


def test_zip_bomb_is_refused_before_parsing(tmp_path):
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(zip_bomb_bytes())
    with pytest.raises(FileRefused, match="zip bomb"):
        table_inspect(path, filename="bomb.xlsx", max_unpacked_bytes=LIMIT)


def test_workbook_larger_than_the_unpacked_limit_is_refused(tmp_path):
    path = tmp_path / "big.xlsx"
    path.write_bytes(xlsx_bytes(sheet_xml([["email"], ["a@example.com"]])))
    with pytest.raises(FileRefused, match="unpacks to"):
        table_inspect(path, filename="big.xlsx", max_unpacked_bytes=100)


def test_billion_laughs_workbook_is_refused(tmp_path):
    path = tmp_path / "lol.xlsx"
    path.write_bytes(xlsx_bytes(sheet_xml([["email"], ["&lol3;"]], prolog=BILLION_LAUGHS)))
    with pytest.raises(FileRefused, match="entities"):
        table_inspect(path, filename="lol.xlsx", max_unpacked_bytes=LIMIT)


ENTITY_SHEET_HEAD = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
ENTITY_ROWS = (
    b'<row r="1"><c r="A1" t="inlineStr"><is><t>email</t></is></c><c r="B1" t="inlineStr"><is><t>first name</t>'
    b'</is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>a@example.com</t></is></c>'
    b'<c r="B2" t="inlineStr"><is><t>&e;</t></is></c></row></sheetData></worksheet>'
)
ENTITY_DTD = b'<!DOCTYPE worksheet [<!ENTITY e "EXPANDED-ENTITY">]>'


def entity_sheet(prolog: bytes, *, encoding: str = "utf-8") -> bytes:
    declared = "UTF-16" if encoding == "utf-16-le" else encoding
    text = (
        f'<?xml version="1.0" encoding="{declared}"?>' + (prolog + ENTITY_SHEET_HEAD + ENTITY_ROWS).decode()
    ).encode(encoding)
    return (b"\xff\xfe" if encoding == "utf-16-le" else b"") + text  # a BOM and "UTF-16", as expat reads them


@pytest.mark.parametrize(
    "workbook",
    [
        pytest.param(xlsx_bytes(entity_sheet(b"<!--" + b"x" * 70_000 + b"-->" + ENTITY_DTD)), id="after-70KB-comment"),
        pytest.param(
            xlsx_bytes(entity_sheet(b"<?pi " + b"y" * 70_000 + b"?>" + ENTITY_DTD)), id="after-70KB-instruction"
        ),
        pytest.param(xlsx_bytes(entity_sheet(ENTITY_DTD), sheet_part="worksheets/sheet1.dat"), id="sheet1.dat"),
        pytest.param(xlsx_bytes(entity_sheet(ENTITY_DTD), sheet_part="sheet.bin"), id="sheet.bin"),
        pytest.param(xlsx_bytes(entity_sheet(ENTITY_DTD, encoding="utf-16-le")), id="utf-16"),
        pytest.param(
            xlsx_bytes(
                sheet_xml([["email"], ["a@example.com"]]),
                shared_strings=b'<?xml version="1.0"?><!--' + b"z" * 70_000 + b"-->" + ENTITY_DTD + b"<sst/>",
            ),
            id="shared-strings",
        ),
    ],
)
def test_a_dtd_anywhere_in_any_part_the_readers_parse_is_refused(tmp_path, workbook):
    path = tmp_path / "entity.xlsx"
    path.write_bytes(workbook)
    with pytest.raises(FileRefused, match="declares a DTD"):
        read(path)


@pytest.mark.parametrize(
    ("dtd", "reference"),
    [
        pytest.param(BILLION_LAUGHS, b"&lol3;", id="billion-laughs"),
        pytest.param(b'<!DOCTYPE w [<!ENTITY big "' + b"x" * 50_000 + b'">]>', b"&big;" * 2_000, id="quadratic"),
        pytest.param(b'<!DOCTYPE w [<!ENTITY e SYSTEM "file:///etc/passwd">]>', b"&e;", id="external-entity"),
        pytest.param(b'<!DOCTYPE w SYSTEM "http://example.com/w.dtd">', b"&e;", id="external-dtd"),
        pytest.param(b"<!DOCTYPE w [<!ENTITY % p \"<!ENTITY e 'x'>\"> %p;]>", b"&e;", id="parameter-entity"),
    ],
)
def test_entity_attacks_are_refused_by_the_dtd_check_before_any_expansion(tmp_path, dtd, reference):
    sheet = dtd.replace(b"<!DOCTYPE w", b"<!DOCTYPE worksheet") + ENTITY_SHEET_HEAD + ENTITY_ROWS
    path = tmp_path / "attack.xlsx"
    path.write_bytes(xlsx_bytes(b'<?xml version="1.0"?>' + sheet.replace(b"&e;", reference)))
    # Our check, not expat's amplification limit or an undefined-entity error, is what refuses the file.
    with pytest.raises(FileRefused, match="declares a DTD"):
        read(path)


def test_the_streaming_reader_parses_with_dtds_forbidden_even_without_the_check(tmp_path):
    path = tmp_path / "entity.xlsx"
    path.write_bytes(xlsx_bytes(entity_sheet(ENTITY_DTD)))
    for scan in (True, False):
        with pytest.raises(FileRefused, match="DTD"):
            list(xlsx_stream_rows(path, "", scan=scan))


@pytest.fixture(scope="module")
def many_strings(tmp_path_factory):
    """Two workbooks of 300,000 shared strings (about 9 MB unpacked): plain, and rich text (parsed by ElementTree)."""
    folder = tmp_path_factory.mktemp("strings")
    paths = {}
    for rich in (False, True):
        paths[rich] = folder / f"many-{rich}.xlsx"
        paths[rich].write_bytes(many_strings_workbook(300_000, rich=rich))
    return paths


@pytest.mark.parametrize("rich", [False, True], ids=["plain", "rich"])
def test_reading_the_header_reads_only_the_start_of_a_large_shared_strings_table(many_strings, monkeypatch, rich):
    path = many_strings[rich]
    with zipfile.ZipFile(path) as archive:
        table_size = archive.getinfo("xl/sharedStrings.xml").file_size
        sheet_size = archive.getinfo("xl/worksheets/sheet1.xml").file_size
    reads = count_part_reads(monkeypatch)
    table = table_inspect(path, filename=path.name, max_unpacked_bytes=LIMIT)
    assert 0 < reads["xl/sharedStrings.xml"] < table_size / 4
    assert reads["xl/worksheets/sheet1.xml"] < sheet_size / 4
    assert table.headers == ["Email", "First name", "Company"]
    assert table.has_data


def test_header_text_stored_beyond_the_request_budget_is_refused_with_a_clear_message(tmp_path, monkeypatch):
    path = tmp_path / "late.xlsx"
    strings = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' + b"".join(
        f"<si><t>filler {i}</t></si>".encode() for i in range(2_000)
    )
    strings += b"<si><t>Email</t></si></sst>"
    sheet = (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        b'<row r="1"><c r="A1" t="s"><v>2000</v></c></row><row r="2"><c r="A2" t="s"><v>0</v></c></row>'
        b"</sheetData></worksheet>"
    )
    path.write_bytes(xlsx_bytes(sheet, shared_strings=strings))
    monkeypatch.setattr(xlsx_stream, "HEAD_STRINGS_BUDGET", 10_000)
    with pytest.raises(FileRefused, match="beyond the first .* of its shared strings"):
        table_inspect(path, filename=path.name, max_unpacked_bytes=LIMIT)
    # The whole-sheet reader (the import, in the worker) still reads it.
    assert list(iter_rows(path, ReadSpec(kind="xlsx", sheet="Sheet1"))) == [(1, ["Email"]), (2, ["filler 0"])]


def test_renamed_document_zip_is_refused(tmp_path):
    import zipfile

    path = tmp_path / "letter.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("word/document.xml", b"<document/>")
    with pytest.raises(FileRefused, match="not an Excel workbook"):
        table_inspect(path, filename="letter.xlsx", max_unpacked_bytes=LIMIT)


def test_xlsx_numbers_keep_phones_as_digits_and_dates_as_dates(tmp_path):
    path = tmp_path / "numbers.xlsx"
    path.write_bytes(xlsx_bytes(sheet_xml([["Email", "Phone", "Employees"], ["a@example.com", 441234567890.0, 250]])))
    _, rows = read(path)
    assert rows == [["a@example.com", "441234567890", "250"]]
    assert xlsx_cell_text(4.4e11) == "440000000000"
    assert xlsx_cell_text(1e22) == "10000000000000000000000"
    assert xlsx_cell_text(0.5) == "0.5"


def test_header_synonyms_in_several_languages():
    cases = {
        "E-mail": "email",
        "Email Address": "email",
        "Work Email": "email",
        "Courriel": "email",
        "Company Name": "company_name",
        "Organization": "company_name",
        "Firma": "company_name",
        "Job Title": "title",
        "Mobile": "phone",
        "Telefon": "phone",
        "No. of Employees": "employees",
        "Mitarbeiter": "employees",
        "Country/Region": "country",
        "Pays": "country",
        "Rating": "rating",
        "Notes": "notes",
        "Prénom": "first_name",
        "Nachname": "last_name",
        "Scan Date/Time": "scanned_at",
    }
    assert {header: header_target(header) for header in cases} == cases


def test_proposed_mapping_keeps_unknown_columns_as_extra_or_ignores_them():
    headers = ["Email", "City", "Email Address"]
    assert propose_mapping(headers) == {"0": "email", "1": "extra", "2": "extra"}
    assert propose_mapping(headers, keep_extra=False) == {"0": "email", "1": "ignore", "2": "ignore"}
    assert headers_signature(["E-Mail", "Firma"]) == headers_signature(["e-mail ", "FIRMA"])


def clean(cells, headers=("Email", "Phone", "Employees", "Company", "Scan")):
    mapping = {0: "email", 1: "phone", 2: "employees", 3: "company_name", 4: "scanned_at"}
    return clean_row(line=2, cells=list(cells), mapping=mapping, headers=list(headers), keep_extra=True)


def test_email_is_trimmed_and_lower_cased_and_invalid_ones_are_rejected():
    assert clean(["  A.Lee@Example.COM ", "", "", "", ""]).email == "a.lee@example.com"
    row = clean(["a.lee at example.com", "+1 555", "", "", ""])
    assert row.rejected and "not a valid email" in row.errors[0]
    assert "no way to reach" in clean(["", "", "", "Acme", ""]).reason()
    assert not is_email("a@b") and is_email(".lenoir@millerplc.example.com")


def test_values_that_look_like_formulas_are_stored_as_typed():
    row = clean(["a@example.com", "+44 20 7946 0958", "", '=HYPERLINK("x")', ""])
    assert row.fields["company_name"] == '=HYPERLINK("x")'
    assert row.fields["phone"] == "+44 20 7946 0958"


def test_employee_counts_ranges_and_words():
    assert parse_employees("1,000") == (1000, None)
    assert parse_employees("1.000") == (1000, None)
    assert parse_employees("11-50") == (None, "50")
    assert parse_employees("1000+") == (None, "1001")
    row = clean(["a@example.com", "", "lots", "", ""])
    assert not row.rejected
    assert row.extra["Employees"] == "lots" and "not a number" in row.warnings[2]


def test_scan_times_and_excel_serials_are_parsed():
    assert parse_datetime("2026-10-14 09:00").hour == 9
    assert parse_datetime("14.10.2026 09:30").minute == 30
    assert parse_datetime("46309").date().isoformat() == "2026-10-14"
    row = clean(["a@example.com", "", "", "", "next tuesday"])
    assert row.occurred_at is None and row.scan["scanned_at_text"] == "next tuesday"


def test_leading_zeros_and_long_values():
    assert clean(["a@example.com", "0049301234", "", "", ""]).fields["phone"] == "0049301234"
    row = clean(["a@example.com", "", "", "x" * 201, ""])
    assert row.rejected and "at most 200" in row.reason()


def test_extra_values_beyond_the_header_reject_the_row():
    row = clean(["a@example.com", "", "", "", "", "surplus"])
    assert row.rejected and "6 values" in row.reason()
