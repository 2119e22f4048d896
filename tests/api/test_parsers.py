"""The API's JSON parser refuses bodies nested deeper than MAX_DEPTH, whatever their shape."""

from __future__ import annotations

import io

import pytest
from rest_framework.exceptions import ParseError

from leads.api.parsers import MAX_DEPTH, JSONParser


def nested(depth: int) -> bytes:
    """Return `depth` levels of objects and arrays in turn, written out (json.dumps itself would recurse)."""
    opens = "".join('{"k": ' if level % 2 == 0 else "[" for level in range(depth))
    closes = "".join("}" if level % 2 == 0 else "]" for level in reversed(range(depth)))
    return f'{opens}"leaf"{closes}'.encode()


def parse(body: bytes):
    return JSONParser().parse(io.BytesIO(body), parser_context={})


def test_a_body_nested_exactly_to_the_limit_is_parsed():
    assert parse(nested(MAX_DEPTH))


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 500, 5000])
def test_a_body_nested_past_the_limit_is_a_parse_error_naming_the_limit(depth):
    with pytest.raises(ParseError, match=f"nested more than {MAX_DEPTH} levels"):
        parse(nested(depth))
