"""Guess how a file is written: its kind, text encoding, delimiter and header row."""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass

from .errors import FileRefused

DELIMITERS = (",", ";", "\t", "|")
DELIMITER_LABELS = {",": "Comma (,)", ";": "Semicolon (;)", "\t": "Tab", "|": "Pipe (|)"}
# Offered for override; the first three are detected from a BOM or by strict decoding.
ENCODINGS = (
    ("utf-8", "UTF-8"),
    ("utf-16-le", "UTF-16 little-endian"),
    ("utf-16-be", "UTF-16 big-endian"),
    ("cp1252", "Windows-1252 (Western Europe)"),
    ("iso-8859-1", "ISO-8859-1 (Latin-1)"),
    ("iso-8859-15", "ISO-8859-15 (Latin-9)"),
    ("cp1250", "Windows-1250 (Central Europe)"),
    ("cp1251", "Windows-1251 (Cyrillic)"),
    ("mac_roman", "Mac Roman"),
    ("cp437", "DOS (cp437)"),
)
ENCODING_NAMES = frozenset(name for name, _ in ENCODINGS)

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Signatures of files people upload by mistake under a spreadsheet's name.
_FOREIGN_SIGNATURES = (
    (b"%PDF", "a PDF document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel 97–2003 (.xls) or other Office file; save it as .xlsx or CSV"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"MZ", "a Windows program"),
    (b"\x7fELF", "a program"),
)
SAMPLE_BYTES = 64 * 1024


@dataclass(frozen=True)
class Encoding:
    name: str
    bom_length: int = 0
    detected_by: str = "bom"


def detect_kind(head: bytes, *, filename: str = "") -> str:
    """Return "xlsx" or "text" for the first bytes of an upload, or refuse a file that is neither."""
    if not head or not head.strip(b"\r\n\t \x00\xef\xbb\xbf\xff\xfe"):
        raise FileRefused("The file is empty: there is no header row and no data.")
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    for signature, what in _FOREIGN_SIGNATURES:
        if head.startswith(signature):
            raise FileRefused(f"The file {filename!r} is {what}, not a CSV, TSV, TXT or XLSX list.".replace("'' ", ""))
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise FileRefused(
            f"The file {filename!r} is named like an Excel workbook but is not one (an .xlsx file is a zip archive). "
            "Open it in Excel and save it as .xlsx or CSV."
        )
    return "text"


def detect_encoding(sample: bytes) -> Encoding:
    """Detect the encoding from a BOM, else UTF-8 if the sample decodes strictly, else cp1252 (or Latin-1)."""
    for bom, name in _BOMS:
        if sample.startswith(bom):
            if name.startswith("utf-32"):
                raise FileRefused("The file is UTF-32 encoded; save it as UTF-8 or UTF-16 and upload it again.")
            return Encoding(name=name, bom_length=len(bom), detected_by="bom")
    guess = _utf16_without_bom(sample)
    if guess:
        return Encoding(name=guess, detected_by="null bytes")
    try:
        # An incremental decoder tolerates a multi-byte character cut at the end of the sample.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return Encoding(name="utf-8", detected_by="strict decoding")
    except UnicodeDecodeError:
        pass
    try:
        sample.decode("cp1252")
        return Encoding(name="cp1252", detected_by="fallback")
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined; Latin-1 maps every byte.
        return Encoding(name="iso-8859-1", detected_by="fallback")


def _utf16_without_bom(sample: bytes) -> str | None:
    """Recognise UTF-16 without a BOM by its zero bytes in alternate positions (ASCII-heavy text)."""
    sample = sample[:4096]
    if len(sample) < 8:
        return None
    even_zeros = sample[0::2].count(0)
    odd_zeros = sample[1::2].count(0)
    half = len(sample) // 2
    if odd_zeros > 0.4 * half and even_zeros < 0.05 * half:
        return "utf-16-le"
    if even_zeros > 0.4 * half and odd_zeros < 0.05 * half:
        return "utf-16-be"
    return None


def decode_sample(sample: bytes, encoding: Encoding | str) -> str:
    """Decode the start of a file for detection and preview, dropping a character cut at the end."""
    name = encoding.name if isinstance(encoding, Encoding) else encoding
    bom = encoding.bom_length if isinstance(encoding, Encoding) else 0
    return codecs.getincrementaldecoder(name)(errors="replace").decode(sample[bom:], final=False)


def detect_delimiter(text: str) -> str:
    """Pick among , ; tab | the delimiter that splits the sample's lines into the most consistent columns."""
    lines = text.splitlines()
    if len(text) >= SAMPLE_BYTES // 2 and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut off
    sample = "\n".join(lines[:200])
    best, best_score = ",", (0, 0, 0.0)
    for delimiter in DELIMITERS:
        try:
            widths = [len(row) for row in csv.reader(io.StringIO(sample), delimiter=delimiter) if any(row)]
        except csv.Error:
            continue
        if not widths:
            continue
        counts: dict[int, int] = {}
        for width in widths:
            counts[width] = counts.get(width, 0) + 1
        # Title rows above the header are narrow; judge by the commonest width among rows wider than one.
        wide = {w: c for w, c in counts.items() if w > 1}
        if not wide:
            continue
        modal_width, modal_count = max(wide.items(), key=lambda item: (item[1], item[0]))
        score = (1, modal_count, modal_width / 1000)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def detect_header_row(rows: list[list[str]], *, score_header) -> int:
    """Return the index of the header row among the first rows: title rows above it are common.

    `score_header(cells)` counts the cells that look like known column names. The header is the row
    that names the most known columns; failing that, the first row as wide as the data below it.
    """
    candidates = rows[:30]
    if not candidates:
        return 0
    best_index, best_score = -1, 0
    for index, row in enumerate(candidates):
        score = score_header(row)
        if score > best_score:
            best_index, best_score = index, score
    if best_index >= 0 and best_score >= 2:
        return best_index
    widths = [sum(1 for cell in row if str(cell).strip()) for row in candidates]
    data_width = max(widths) if widths else 0
    for index, width in enumerate(widths):
        if data_width and width >= max(2, data_width * 0.6):
            return index
    return 0
