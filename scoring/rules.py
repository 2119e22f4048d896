"""What a rule may test, and the refusal of rules that cannot apply (each message names the rule)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from leadops.errors import ApplicationError
from leads.models import ActivityKind

from .models import Operator, PayloadOperator

TEXT_FIELDS = (
    "title",
    "company_name",
    "company_domain",
    "website",
    "email",
    "phone",
    "industry",
    "country",
    "region",
    "size_band",
    "authority",
    "timeframe",
    "source_channel",
    "first_name",
    "last_name",
)
NUMBER_FIELDS = ("employees", "budget")
FIT_FIELDS = TEXT_FIELDS + NUMBER_FIELDS

TEXT_OPERATORS = {Operator.EQUALS, Operator.ONE_OF, Operator.CONTAINS, Operator.STARTS_WITH, Operator.IS_SET}
NUMBER_OPERATORS = {Operator.EQUALS, Operator.ONE_OF, Operator.RANGE, Operator.IS_SET}


def _number(value) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def fit_rule_check(rule) -> None:
    """Raise ApplicationError if the fit rule cannot apply to a lead; the message names the rule."""
    name = f"Fit rule “{rule.label or '(no label)'}”"
    if not (rule.label or "").strip():
        raise ApplicationError(f"{name}: give the rule a label so scores can be explained.")
    if rule.field not in FIT_FIELDS:
        raise ApplicationError(f"{name}: unknown lead field {rule.field!r}. Use one of: {', '.join(FIT_FIELDS)}.")
    if rule.operator not in Operator.values:
        raise ApplicationError(f"{name}: unknown operator {rule.operator!r}.")
    if isinstance(rule.points, bool) or not isinstance(rule.points, int):
        raise ApplicationError(f"{name}: points must be a whole number.")
    op, value = rule.operator, rule.value
    if op == Operator.EMAIL_DOMAIN_IN:
        if rule.field != "email":
            raise ApplicationError(f"{name}: “has an email domain in” applies only to the email field.")
        _text_list(name, value)
        return
    numeric = rule.field in NUMBER_FIELDS
    allowed = NUMBER_OPERATORS if numeric else TEXT_OPERATORS
    if op not in allowed:
        kind = "a number" if numeric else "text"
        raise ApplicationError(f"{name}: {rule.field} is {kind}; “{Operator(op).label}” does not apply to it.")
    if op == Operator.IS_SET:
        return
    if op == Operator.RANGE:
        if not isinstance(value, dict) or not ({"min", "max"} & {k for k, v in value.items() if v is not None}):
            raise ApplicationError(f"{name}: a range needs a minimum, a maximum or both.")
        bounds = [value.get("min"), value.get("max")]
        if any(b is not None and _number(b) is None for b in bounds):
            raise ApplicationError(f"{name}: the range bounds must be numbers.")
        if None not in bounds and _number(bounds[0]) > _number(bounds[1]):
            raise ApplicationError(f"{name}: the range minimum is above its maximum.")
        return
    if op == Operator.ONE_OF:
        if numeric:
            if not isinstance(value, list) or not value or any(_number(v) is None for v in value):
                raise ApplicationError(f"{name}: “is one of” needs a non-empty list of numbers.")
        else:
            _text_list(name, value)
        return
    if numeric:
        if _number(value) is None:
            raise ApplicationError(f"{name}: {rule.field} is a number; {value!r} is not.")
        return
    if not isinstance(value, str) or not value:
        raise ApplicationError(f"{name}: needs a non-empty text value.")


def _text_list(name: str, value) -> None:
    if not isinstance(value, list) or not value:
        raise ApplicationError(f"{name}: the list of values is empty; give at least one.")
    if any(not isinstance(v, str) or not v.strip() for v in value):
        raise ApplicationError(f"{name}: every value in the list must be non-empty text.")


def engagement_rule_check(rule) -> None:
    """Raise ApplicationError if the engagement rule cannot apply; the message names the rule."""
    name = f"Engagement rule “{rule.label or '(no label)'}”"
    if not (rule.label or "").strip():
        raise ApplicationError(f"{name}: give the rule a label so scores can be explained.")
    if rule.kind not in ActivityKind.values:
        raise ApplicationError(f"{name}: unknown activity kind {rule.kind!r}.")
    if isinstance(rule.points, bool) or not isinstance(rule.points, int):
        raise ApplicationError(f"{name}: points must be a whole number.")
    if rule.payload_key:
        if rule.payload_key.startswith("properties."):
            flat = rule.payload_key.removeprefix("properties.")
            raise ApplicationError(
                f"{name}: an event's properties sit at the top level of its activity's payload; "
                f"use the payload key “{flat}”, not “{rule.payload_key}”."
            )
        if rule.payload_operator not in PayloadOperator.values:
            raise ApplicationError(f"{name}: the payload condition needs “equals” or “contains”.")
        if not rule.payload_value:
            raise ApplicationError(f"{name}: the payload condition needs a value.")
    elif rule.payload_operator or rule.payload_value:
        raise ApplicationError(f"{name}: a payload condition needs the payload key it tests.")
    if rule.cap is not None and (isinstance(rule.cap, bool) or not isinstance(rule.cap, int) or rule.cap < 0):
        raise ApplicationError(f"{name}: the cap must be a whole number of points, 0 or more.")
    for attr, label in (("half_life_days", "half-life"), ("expires_after_days", "expiry window")):
        days = getattr(rule, attr)
        if days is None:
            continue
        if isinstance(days, bool) or not isinstance(days, int):
            raise ApplicationError(f"{name}: the {label} must be a whole number of days.")
        if days <= 0:
            raise ApplicationError(f"{name}: the {label} must be more than 0 days (it is {days}).")
