"""Turn one mapped row into lead fields, a badge-scan payload and cell-level problems.

Text is stored as typed (names, companies, formulas-looking values alike); only the email is
normalised and numbers and dates are parsed. A problem that would lose or corrupt data rejects the row
(it goes to the error file); one that only leaves a field empty is a warning and keeps the original text
on `Lead.extra`.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field

MAX_LENGTHS = {
    "first_name": 150,
    "last_name": 150,
    "email": 254,
    "phone": 64,
    "title": 200,
    "company_name": 200,
    "website": 255,
    "industry": 100,
    "country": 100,
    "region": 100,
}
LEAD_TEXT_FIELDS = (
    "first_name",
    "last_name",
    "phone",
    "title",
    "company_name",
    "website",
    "industry",
    "country",
    "region",
)
MAX_EMPLOYEES = 10_000_000
SCAN_FIELDS = ("rating", "notes", "badge_id")
# Lenient on purpose: exporters' real addresses (a leading dot, plus tags, long TLDs) must pass; what is
# refused is what cannot be an address at all ("name at example.com", no domain, spaces).
_EMAIL = re.compile(r"^[^@\s,;<>()\[\]\"]+@[^@\s,;<>()\[\]\"]+\.[^@\s,;<>()\[\]\".]+$")
_DIGIT = re.compile(r"\d")
_RANGE = re.compile(r"^(\d[\d.,' ]*)\s*(?:-|–|to|bis|à)\s*(\d[\d.,' ]*)$")
_PLUS = re.compile(r"^(?:>\s*)?(\d[\d.,' ]*)\s*\+$")
_DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
)
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)


@dataclass
class CleanRow:
    line: int
    email: str | None = None
    fields: dict[str, object] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)
    scan: dict[str, str] = field(default_factory=dict)
    occurred_at: dt.datetime | None = None
    errors: dict[int, str] = field(default_factory=dict)  # column index (-1: the row) → why it is rejected
    warnings: dict[int, str] = field(default_factory=dict)

    @property
    def rejected(self) -> bool:
        return bool(self.errors)

    def reason(self) -> str:
        return "; ".join(self.errors.values())


def is_email(value: str) -> bool:
    return bool(_EMAIL.match(value)) and ".." not in value.split("@", 1)[1]


@functools.lru_cache(maxsize=4096)
def parse_employees(text: str) -> tuple[int | None, str | None]:
    """Return (employees, size band lower bound) from "250", "1,000", "11-50", "1000+"; (None, None) if neither."""
    value = text.strip()
    if not value:
        return None, None
    number = _as_int(value)
    if number is not None:
        return number, None
    match = _RANGE.match(value)
    if match:
        high = _as_int(match.group(2))
        if high is not None:
            return None, str(high)
    match = _PLUS.match(value)
    if match:
        low = _as_int(match.group(1))
        if low is not None:
            return None, str(low + 1)
    return None, None


def _as_int(text: str) -> int | None:
    text = text.strip().replace("'", "").replace(" ", "")
    if re.fullmatch(r"\d+", text):
        return int(text)
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", text):  # 1,000 or 1.000 (thousands)
        return int(re.sub(r"[.,]", "", text))
    if re.fullmatch(r"\d+[.,]0+", text):  # 250.0 from a spreadsheet
        return int(re.split(r"[.,]", text)[0])
    return None


@functools.lru_cache(maxsize=4096)
def parse_datetime(text: str) -> dt.datetime | None:
    """Parse a scan time as exporters write it, or an Excel date serial (days since 1899-12-30).

    Cached: a show's scans share a few thousand distinct minutes, and strptime is slow.
    """
    value = text.strip()
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
        return parsed
    except ValueError:
        pass
    if re.fullmatch(r"\d{5}(\.\d+)?", value):
        serial = float(value)
        if 20000 <= serial <= 80000:
            return _EXCEL_EPOCH + dt.timedelta(days=serial)
    for pattern in _DATETIME_FORMATS:
        try:
            return dt.datetime.strptime(value, pattern)
        except ValueError:
            continue
    return None


def split_full_name(value: str) -> tuple[str, str]:
    """Split "Ada Lovelace" or "Lovelace, Ada" into first and last name."""
    value = value.strip()
    if "," in value:
        last, _, first = value.partition(",")
        return first.strip(), last.strip()
    if " " not in value:
        return value, ""
    first, _, last = value.rpartition(" ")
    return first.strip(), last.strip()


def clean_row(
    *, line: int, cells: list[str], mapping: dict[int, str], headers: list[str], keep_extra: bool
) -> CleanRow:
    """Map and check one row; never raises for bad values (they become errors or warnings)."""
    row = CleanRow(line=line)
    width = len(headers)
    if len(cells) > width and any(str(cell).strip() for cell in cells[width:]):
        row.errors[-1] = f"Line {line} has {len(cells)} values but the header has {width} columns."
    values: dict[str, str] = {}
    columns: dict[str, int] = {}  # target → the column it came from, to point at the cell
    for index, target in mapping.items():
        cell = cells[index] if index < len(cells) else ""
        if target == "ignore":
            continue
        if target == "extra":
            if keep_extra and cell != "":
                row.extra[headers[index]] = cell
            continue
        if target in values and values[target].strip():
            if target == "notes" and cell.strip():
                values[target] = f"{values[target]}\n{cell}"
            continue
        values[target] = cell
        columns.setdefault(target, index)

    email_text = values.get("email", "").strip()
    if email_text:
        if is_email(email_text) and len(email_text) <= MAX_LENGTHS["email"]:
            row.email = email_text.lower()
        else:
            row.errors[columns.get("email", -1)] = f"{email_text!r} is not a valid email address."
    elif values.get("phone", "").strip():
        row.errors[columns.get("email", -1)] = "No email address: imported leads are matched on it."
    else:
        row.errors[columns.get("email", -1)] = "No email address and no phone: no way to reach this person."

    if "full_name" in values:
        first, last = split_full_name(values.pop("full_name"))
        values.setdefault("first_name", first)
        values.setdefault("last_name", last)
        columns.setdefault("first_name", columns.get("full_name", -1))
        columns.setdefault("last_name", columns.get("full_name", -1))
    for name in LEAD_TEXT_FIELDS:
        if name not in values:
            continue
        value = values[name].strip() if name in ("phone", "website") else values[name]
        if len(value) > MAX_LENGTHS[name]:
            row.errors[columns.get(name, -1)] = (
                f"{name.replace('_', ' ').capitalize()} is {len(value)} characters long; at most "
                f"{MAX_LENGTHS[name]} fit."
            )
            continue
        if name == "phone" and value and not _DIGIT.search(value):
            row.warnings[columns[name]] = f"{value!r} has no digits; kept as typed."
        row.fields[name] = value

    employees_text = values.get("employees", "")
    if employees_text.strip():
        employees, band_basis = parse_employees(employees_text)
        if employees is not None and employees > MAX_EMPLOYEES:
            employees = band_basis = None  # a phone number or an id in the wrong column, not a head count
        if employees is not None:
            row.fields["employees"] = employees
        elif band_basis is not None:
            row.fields["size_band_basis"] = int(band_basis)
        else:
            column = columns.get("employees", -1)
            row.warnings[column] = f"{employees_text!r} is not a number of employees; kept as extra data."
            row.extra[headers[column] if column >= 0 else "employees"] = employees_text

    for name in SCAN_FIELDS:
        if values.get(name, "") != "":
            row.scan[name] = values[name]
    scanned = values.get("scanned_at", "")
    if scanned.strip():
        row.occurred_at = parse_datetime(scanned)
        if row.occurred_at is None:
            column = columns.get("scanned_at", -1)
            row.warnings[column] = f"{scanned!r} is not a date and time; the import time is used."
            row.scan["scanned_at_text"] = scanned
    return row
