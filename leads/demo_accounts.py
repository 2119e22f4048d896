"""The demo logins `seed_demo` creates and `make run` prints. Demo only: never in production data."""

from __future__ import annotations

DEMO_PASSWORD = "leadops-demo"  # noqa: S105 - a published demo password, printed by `make run`

# (username, role or "Admin", team, first name, last name)
DEMO_USERS: list[tuple[str, str, str | None, str, str]] = [
    ("admin", "Admin", None, "Ada", "Admin"),
    ("marketer", "Marketing", None, "Mia", "Marketer"),
    ("manager", "Sales Manager", "East", "Max", "Manager"),
    ("rep1", "Sales Rep", "East", "Rita", "East"),
    ("rep2", "Sales Rep", "East", "Raj", "East"),
    ("rep3", "Sales Rep", "West", "Rosa", "West"),
    ("exec", "Executive", None, "Eve", "Executive"),
]
