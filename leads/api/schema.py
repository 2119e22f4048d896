"""Hooks of the OpenAPI schema."""

from __future__ import annotations


def only_api_paths(endpoints):
    """Document the API under /api/ only (the imports API is also served at its older /imports/api/)."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/")]
