"""One uploaded file as a table: detection of how to read it, its headers, and its data rows."""

from __future__ import annotations

import itertools
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from .detect import (
    DELIMITERS,
    ENCODING_NAMES,
    SAMPLE_BYTES,
    decode_sample,
    detect_delimiter,
    detect_encoding,
    detect_header_row,
    detect_kind,
)
from .errors import FileRefused
from .mapping import header_score
from .readers import ReadSpec, head_rows, iter_rows, xlsx_check

HEADER_SCAN_ROWS = 30


@dataclass(frozen=True)
class Table:
    spec: ReadSpec
    sheets: list[str]
    header_line: int
    headers: list[str]
    encoding_detected_by: str = ""
    # Whether a row with a value follows the header (known from the first rows, without reading the whole file).
    has_data: bool = True


def table_inspect(
    path: str | Path,
    *,
    filename: str,
    max_unpacked_bytes: int,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    header_line: int | None = None,
) -> Table:
    """Detect how to read the file (or apply the user's overrides) and read its header row."""
    with open(path, "rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    kind = detect_kind(sample[:16], filename=filename) if sample.strip() else detect_kind(b"", filename=filename)
    sheets: list[str] = []
    detected_by = ""
    if kind == "xlsx":
        sheets = xlsx_check(path, max_unpacked_bytes=max_unpacked_bytes)
        if sheet and sheet not in sheets:
            raise FileRefused(f"The workbook has no sheet named {sheet!r}; it has {', '.join(sheets)}.")
        spec = ReadSpec(kind="xlsx", sheet=sheet or _likeliest_sheet(path, sheets))
    else:
        detected = detect_encoding(sample)
        detected_by = detected.detected_by
        bom_length = detected.bom_length
        if encoding and encoding != detected.name:
            if encoding not in ENCODING_NAMES:
                raise FileRefused(f"Unknown encoding {encoding!r}.")
            # A BOM belongs to its own encoding; an override reads from the first byte after it.
            detected_by = "chosen"
        name = encoding or detected.name
        text = decode_sample(sample[bom_length:], name)
        if not text.strip("\r\n\t \x00\ufeff"):
            raise FileRefused("The file is empty: there is no header row and no data.")
        if delimiter is not None and delimiter not in DELIMITERS:
            raise FileRefused("The delimiter must be a comma, semicolon, tab or pipe.")
        spec = ReadSpec(
            kind="text", encoding=name, bom_length=bom_length, delimiter=delimiter or detect_delimiter(text)
        )
    # One row more than the header may be on, to know whether any data follows it.
    head = list(itertools.islice(_non_blank(head_rows(path, spec)), HEADER_SCAN_ROWS + 1))
    if not head:
        raise FileRefused(
            "The file is empty: there is no header row and no data."
            if kind == "text"
            else f"The sheet {spec.sheet!r} is empty."
        )
    if header_line is None:
        header_line = head[
            detect_header_row([cells for _, cells in head[:HEADER_SCAN_ROWS]], score_header=header_score)
        ][0]
    header_cells = next((cells for line, cells in head[:HEADER_SCAN_ROWS] if line == header_line), None)
    if header_cells is None:
        raise FileRefused(f"Row {header_line} is empty or beyond the first {HEADER_SCAN_ROWS} rows; choose another.")
    return Table(
        spec=spec,
        sheets=sheets,
        header_line=header_line,
        headers=unique_headers(header_cells),
        encoding_detected_by=detected_by,
        has_data=any(line > header_line for line, _ in head),
    )


def _likeliest_sheet(path: str | Path, sheets: list[str]) -> str:
    """Pick the sheet whose rows look most like a list of leads (a summary or empty sheet often comes first)."""
    best, best_score = sheets[0], (-1, -1)
    if len(sheets) == 1:
        return best
    for name in sheets:
        try:
            head = list(
                itertools.islice(_non_blank(head_rows(path, ReadSpec(kind="xlsx", sheet=name))), HEADER_SCAN_ROWS)
            )
        except FileRefused:
            continue  # an unreadable sheet is not the likeliest; if it is the only one, reading it says why
        score = (max((header_score(cells) for _, cells in head), default=-1), len(head))
        if score > best_score:
            best, best_score = name, score
    return best


def unique_headers(cells: list[str]) -> list[str]:
    """Name blank headers "Column N" and number repeated ones, so each column has its own key."""
    headers: list[str] = []
    seen: dict[str, int] = {}
    for index, cell in enumerate(cells):
        name = str(cell).strip() or f"Column {index + 1}"
        seen[name] = seen.get(name, 0) + 1
        headers.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return headers


def table_rows(path: str | Path, table: Table) -> Iterator[tuple[int, list[str]]]:
    """Yield (line, cells) for each data row after the header, skipping rows with no value at all."""
    for line, cells in _non_blank(iter_rows(path, table.spec)):
        if line > table.header_line:
            yield line, cells


def table_head_rows(path: str | Path, table: Table) -> Iterator[tuple[int, list[str]]]:
    """Yield the data rows among the file's first rows, reading no more of the file than they need."""
    for line, cells in _non_blank(head_rows(path, table.spec)):
        if line > table.header_line:
            yield line, cells


def table_read_size(path: str | Path, table: Table) -> int:
    """Return how many bytes reading every row takes: the file's size, or a workbook's unpacked size."""
    if table.spec.kind != "xlsx":
        return Path(path).stat().st_size
    with zipfile.ZipFile(path) as archive:
        return sum(member.file_size for member in archive.infolist())


def _non_blank(rows: Iterator[tuple[int, list[str]]]) -> Iterator[tuple[int, list[str]]]:
    for line, cells in rows:
        if any(cell.strip() for cell in cells):
            yield line, cells


def with_spec(table: Table, **changes) -> Table:
    return replace(table, spec=replace(table.spec, **changes))
