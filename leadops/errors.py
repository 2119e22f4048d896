"""The one domain error type. Views and the API turn it into a clear message in one place."""

from __future__ import annotations


class ApplicationError(Exception):
    def __init__(self, message: str, *, extra: dict | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
        self.code = code
