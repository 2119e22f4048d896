"""The API's JSON parser: DRF's, refusing bodies nested deeper than any leadops resource is."""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# The deepest body the API takes is a batch of events whose free-form properties hold a few levels of
# their own; 32 leaves room for those. Far deeper input is an attack or a bug: Python's json module hits
# the interpreter's recursion limit near 1,000 levels, and anything that walks the value later (the size
# check, psycopg2's jsonb adapter, PostgreSQL) recurses too.
MAX_DEPTH = 32
TOO_DEEP = f"JSON parse error - the body is nested more than {MAX_DEPTH} levels deep; send a flatter document."


def nesting_exceeds(value: Any, limit: int) -> bool:
    """Return whether `value` has arrays or objects nested more than `limit` levels deep.

    A loop with its own stack, not recursion, so it cannot itself run out of stack on hostile input.
    """
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class JSONParser(parsers.JSONParser):
    """Parse JSON as DRF does, but answer 400 (not 500) to a body nested too deeply."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type=media_type, parser_context=parser_context)
        except RecursionError as exc:
            raise ParseError(TOO_DEEP) from exc
        if nesting_exceeds(data, MAX_DEPTH):
            raise ParseError(TOO_DEEP)
        return data
