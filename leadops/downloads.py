"""Files sent to the browser as downloads: a harmless name, and never rendered in the app's own origin."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from django.http import HttpResponseBase

# Characters that are path separators, shell or header syntax, or reserved on some file system.
_UNSAFE = re.compile(r'[\\/:*?"<>|;,%]')


def safe_filename(name: str, *, default: str = "download") -> str:
    """Return `name` as a file name a browser may save: last path part, no control characters or quotes."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # Cc/Cf: CR, LF, NUL, bidi overrides (a "txt.exe" spoof) and other invisible characters.
    name = "".join(ch for ch in name if unicodedata.category(ch) not in {"Cc", "Cf", "Zl", "Zp"})
    name = _UNSAFE.sub("_", name).strip().lstrip(".")
    return name[:150] or default


def attachment_disposition(name: str) -> str:
    """Return a Content-Disposition that saves the file: an ASCII fallback plus RFC 6266 `filename*`."""
    name = safe_filename(name)
    fallback = name.encode("ascii", "replace").decode("ascii").replace("?", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def as_attachment(response: HttpResponseBase, name: str) -> HttpResponseBase:
    """Mark `response` a download under a safe `name`, and forbid the browser to sniff another type."""
    response["Content-Disposition"] = attachment_disposition(name)
    response["X-Content-Type-Options"] = "nosniff"
    return response
