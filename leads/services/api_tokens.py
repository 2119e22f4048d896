"""Issuing, checking and revoking API tokens.

A token reads `lo_<prefix>_<secret>`: the prefix finds the row, the secret is compared with a stored
SHA-256 hash in constant time. SHA-256 rather than PBKDF2/Argon2: the secret is 32 random bytes (256 bits),
so there is nothing to brute-force and a slow hash would only add its cost to every API request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from leadops.errors import ApplicationError
from leads.models import APIScope, APIToken, APITokenKind
from leads.models.api_tokens import ALL_SCOPES
from leads.roles import Role, has_role, is_admin

TOKEN_PREFIX = "lo_"  # noqa: S105 (a marker, not a secret)
# last_used_at is a hint for people deciding which token to revoke; a write per request would be waste.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedToken:
    token: APIToken
    secret: str  # the whole token string, shown once


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def may_issue_integration_tokens(user) -> bool:
    return is_admin(user) or has_role(user, Role.MARKETING)


def _clean_scopes(scopes: Iterable[str], *, kind: str) -> list[str]:
    scopes = sorted({s.strip() for s in scopes if s and s.strip()})
    if not scopes:
        raise ApplicationError("Choose at least one scope for the token.")
    unknown = [s for s in scopes if s not in APIScope.values and s != ALL_SCOPES]
    if unknown:
        raise ApplicationError(
            f"Unknown scope {', '.join(unknown)}. Scopes are: {', '.join(APIScope.values)}"
            + (" or * (everything your role allows)." if kind == APITokenKind.PERSONAL else ".")
        )
    if ALL_SCOPES in scopes:
        if kind != APITokenKind.PERSONAL:
            raise ApplicationError("An integration token lists its scopes; * is for personal tokens only.")
        return [ALL_SCOPES]
    return scopes


@transaction.atomic
def api_token_create(*, user, by, name: str, scopes: Iterable[str], kind: str = APITokenKind.PERSONAL) -> IssuedToken:
    """Issue a token acting as `user`; return it with its secret, which is not stored and never shown again."""
    name = (name or "").strip()
    if not name:
        raise ApplicationError("Give the token a name (what uses it), so you know what to revoke later.")
    if len(name) > 100:
        raise ApplicationError("The token name can be at most 100 characters.")
    if kind not in APITokenKind.values:
        raise ApplicationError(f"A token is {' or '.join(APITokenKind.values)}.")
    if kind == APITokenKind.PERSONAL and by.pk != user.pk:
        raise ApplicationError("A personal token is created by its owner.")
    if kind == APITokenKind.INTEGRATION and not may_issue_integration_tokens(by):
        raise ApplicationError("Integration tokens are created by marketing or an admin.")
    if not user.is_active:
        raise ApplicationError(f"{user} is not an active user.")
    clean = _clean_scopes(scopes, kind=kind)
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    token = APIToken.objects.create(
        name=name, kind=kind, user=user, created_by=by, prefix=prefix, secret_hash=_hash(secret), scopes=clean
    )
    return IssuedToken(token=token, secret=f"{TOKEN_PREFIX}{prefix}_{secret}")


def api_token_authenticate(raw: str) -> APIToken | None:
    """Return the active token `raw` names (with its user), or None; note when it was last used."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    prefix, sep, secret = raw[len(TOKEN_PREFIX) :].partition("_")
    if not sep or not prefix or not secret or len(prefix) > 16:
        return None
    token = APIToken.objects.select_related("user").filter(prefix=prefix, revoked_at__isnull=True).first()
    # Compare even when no row matched, so a wrong prefix and a wrong secret take the same time.
    expected = token.secret_hash if token else _hash("")
    if not hmac.compare_digest(expected, _hash(secret)) or token is None:
        return None
    if not token.user.is_active:
        return None
    _touch(token)
    return token


def _touch(token: APIToken) -> None:
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    stale = now - LAST_USED_RESOLUTION
    # Conditional: of many concurrent requests after a quiet minute, one writes.
    APIToken.objects.filter(pk=token.pk).filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale)).update(
        last_used_at=now
    )
    token.last_used_at = now


def api_token_revoke(*, token: APIToken, by) -> APIToken:
    """Revoke a token now; requests with it fail from the next one. Revoking twice is harmless."""
    if not (token.user_id == by.pk or token.created_by_id == by.pk or is_admin(by)):
        raise ApplicationError("This is not your token to revoke.", code="not_found")
    APIToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db()
    return token
