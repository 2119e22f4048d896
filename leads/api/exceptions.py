"""The one place where a domain error (ApplicationError) becomes an API response."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from leadops.errors import ApplicationError

# Error codes that mean "the lead changed under you" or "it exists already": 409, not 400.
CONFLICT_CODES = frozenset({"conflict", "duplicate"})


def exception_handler(exc, context):
    """Map ApplicationError to 409 (conflict, duplicate), 404 (not_found) or 400, with its message."""
    if isinstance(exc, ApplicationError):
        if exc.code in CONFLICT_CODES:
            code = status.HTTP_409_CONFLICT
        elif exc.code == "not_found":
            code = status.HTTP_404_NOT_FOUND
        else:
            code = status.HTTP_400_BAD_REQUEST
        return Response({"detail": exc.message, "code": exc.code, **exc.extra}, status=code)
    if isinstance(exc, DjangoValidationError):
        return Response({"detail": " ".join(exc.messages), "code": "invalid"}, status=status.HTTP_400_BAD_REQUEST)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, ValidationError):
        response.data = _with_detail(response.data)
    return response


def _with_detail(data) -> dict:
    """Give field errors a one-line `detail` naming each field, beside the per-field lists DRF returns."""
    if isinstance(data, dict):
        lines = [
            f"{name}: {_text(errors)}" if name != "non_field_errors" else _text(errors) for name, errors in data.items()
        ]
        return {"detail": " ".join(lines), "code": "invalid", **data}
    return {"detail": _text(data), "code": "invalid"}


def _text(errors) -> str:
    if isinstance(errors, dict):
        return "; ".join(f"{name}: {_text(value)}" for name, value in errors.items())
    if isinstance(errors, list):
        return " ".join(_text(e) for e in errors)
    return str(errors)
