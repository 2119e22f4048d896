"""The API's JSON renderer: DRF's, which can also render an error message that quotes a lone surrogate."""

from __future__ import annotations

from rest_framework import renderers


class JSONRenderer(renderers.JSONRenderer):
    """Render UTF-8 JSON as DRF does; fall back to ASCII escapes when the data holds a lone surrogate.

    Nothing stored can hold one (PostgreSQL refuses it), but a 400 may quote the request ("Unknown type
    "\\ud800"") and UTF-8 cannot encode it: the escaped form is still valid JSON, so the 400 is not a 500.
    """

    def render(self, data, accepted_media_type=None, renderer_context=None):
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            return _ASCIIJSONRenderer().render(data, accepted_media_type, renderer_context)


class _ASCIIJSONRenderer(renderers.JSONRenderer):
    ensure_ascii = True
