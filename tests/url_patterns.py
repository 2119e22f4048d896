"""Every URL pattern of the project, read from Django's resolver, for tests that must cover all routes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.views import APIView


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name" (or "name" without a namespace)
    route: str  # the pattern as written, e.g. "queue/lead/<int:pk>/accept/"
    callback: Callable
    params: tuple[str, ...] = field(default=())

    @property
    def is_drf(self) -> bool:
        view_class = getattr(self.callback, "cls", None)
        return isinstance(view_class, type) and issubclass(view_class, APIView)


def routes() -> list[Route]:
    """Return every named URL pattern, in URLconf order (unnamed ones, e.g. admin internals, too)."""
    return list(_walk(get_resolver().url_patterns, prefix="", namespace=""))


def _walk(patterns, *, prefix: str, namespace: str) -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}:{entry.namespace}" if namespace and entry.namespace else entry.namespace or namespace
            yield from _walk(entry.url_patterns, prefix=prefix + str(entry.pattern), namespace=inner or "")
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name or ""
            params = tuple(getattr(entry.pattern, "converters", {}) or entry.pattern.regex.groupindex)
            yield Route(name=name, route=prefix + str(entry.pattern), callback=entry.callback, params=params)
