from __future__ import annotations

from leadops.errors import ApplicationError


class FileRefused(ApplicationError):
    """The file cannot be read as a list of leads; the message says what is wrong and where."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="file_refused")
