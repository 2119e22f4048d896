"""Where the shared corpora live, and small builders of hostile files for the import tests."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def shared_dir() -> Path:
    """Return ../shared: $LEADOPS_SHARED_DIR, else next to the repository, else /work/shared."""
    if os.environ.get("LEADOPS_SHARED_DIR"):
        return Path(os.environ["LEADOPS_SHARED_DIR"])
    beside = REPO.parent / "shared"
    return beside if beside.is_dir() else Path("/work/shared")


CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/xl/workbook.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    b'<Override PartName="/xl/worksheets/sheet1.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    b"</Types>"
)
ROOT_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?><Relationships '
    b'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" '
    b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    b'Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    b'<?xml version="1.0" encoding="UTF-8"?><workbook '
    b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    b'<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?><Relationships '
    b'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" '
    b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    b'Target="worksheets/sheet1.xml"/></Relationships>'
)


def xlsx_bytes(sheet_xml: bytes, *, sheet_part: str = "worksheets/sheet1.xml", shared_strings: bytes = b"") -> bytes:
    """Build a minimal workbook around one sheet's XML (inline strings, no shared strings part unless given).

    `sheet_part` is where the sheet is stored, under xl/, as the workbook's relationships name it.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr(
            "xl/_rels/workbook.xml.rels", WORKBOOK_RELS.replace(b"worksheets/sheet1.xml", sheet_part.encode())
        )
        archive.writestr(f"xl/{sheet_part}", sheet_xml)
        if shared_strings:
            archive.writestr("xl/sharedStrings.xml", shared_strings)
    return buffer.getvalue()


def sheet_xml(rows: list[list[object]], *, prolog: bytes = b"") -> bytes:
    """Write rows as sheet XML: str as inline strings, numbers as numbers (as Excel stores phones)."""
    out = [b'<?xml version="1.0" encoding="UTF-8"?>', prolog]
    out.append(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
    for r, row in enumerate(rows, start=1):
        out.append(f'<row r="{r}">'.encode())
        for c, value in enumerate(row):
            ref = f"{chr(65 + c)}{r}"
            if isinstance(value, (int, float)):
                out.append(f'<c r="{ref}"><v>{value!r}</v></c>'.encode())
            else:
                text = str(value).replace("&", "&amp;").replace("<", "&lt;")
                out.append(f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'.encode())
        out.append(b"</row>")
    out.append(b"</sheetData></worksheet>")
    return b"".join(out)


def zip_bomb_bytes(unpacked: int = 60 * 1024 * 1024) -> bytes:
    """A workbook whose sheet part inflates from ~60 KB to `unpacked` bytes of zeros."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * unpacked)
    return buffer.getvalue()


BILLION_LAUGHS = (
    b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
)


def many_strings_workbook(count: int, *, rich: bool = False) -> bytes:
    """A workbook of `count` distinct shared strings, three to a row below an Email/First name/Company header.

    With `rich`, every entry is a rich-text run, which the regular-expression scanner leaves to ElementTree.
    """
    entry = "<si><r><t>{}</t></r></si>" if rich else "<si><t>{}</t></si>"
    header = ["Email", "First name", "Company"]
    texts = header + [f"lead{i}@example.com" if i % 3 == 0 else f"Name {i}" for i in range(count - len(header))]
    strings = (
        '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'count="{count}" uniqueCount="{count}">' + "".join(entry.format(text) for text in texts) + "</sst>"
    ).encode()
    rows = []
    for r in range(count // 3):
        cells = "".join(f'<c r="{"ABC"[c]}{r + 1}" t="s"><v>{3 * r + c}</v></c>' for c in range(3))
        rows.append(f'<row r="{r + 1}">{cells}</row>')
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet '
        'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        + "".join(rows)
        + "</sheetData></worksheet>"
    ).encode()
    return xlsx_bytes(sheet, shared_strings=strings)


def count_part_reads(monkeypatch) -> dict[str, int]:
    """Count the unpacked bytes read from each workbook part from now on, by part name."""
    counts: dict[str, int] = {}
    read = zipfile.ZipExtFile.read

    def counting(self, n=-1):
        data = read(self, n)
        counts[self.name] = counts.get(self.name, 0) + len(data)
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting)
    return counts
