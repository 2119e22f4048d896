"""Signed tokens in nurture emails: a tracked click names the delivery, an unsubscribe names the lead.

Django's signing (HMAC with SECRET_KEY and a salt per purpose) so a token cannot be forged or reused for
the other purpose; the click target is read from the step, never from the token, so there is no open
redirect.
"""

from __future__ import annotations

from django.core import signing

CLICK_SALT = "nurture.click"
UNSUBSCRIBE_SALT = "nurture.unsubscribe"


def click_token(delivery_id: int) -> str:
    return signing.dumps(delivery_id, salt=CLICK_SALT, compress=True)


def click_delivery_id(token: str) -> int | None:
    try:
        value = signing.loads(token, salt=CLICK_SALT)
    except signing.BadSignature:
        return None
    return value if isinstance(value, int) else None


def unsubscribe_token(lead_id: int) -> str:
    return signing.dumps(lead_id, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_lead_id(token: str) -> int | None:
    try:
        value = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    return value if isinstance(value, int) else None
