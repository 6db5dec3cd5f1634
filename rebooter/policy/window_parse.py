"""Parsing the parts of a maintenance window from settings or JSON: days of the week, HH:MM times,
time zones (IANA names, UTC, fixed UTC offsets as AKS writes them) and exclusion dates. Each
parser raises ValueError saying what was expected; rebooter.policy.windows builds windows from
their results and rebooter.config.setting_types checks the window settings with them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_ALIASES = {
    **{name: i for i, name in enumerate(DAY_NAMES)},
    **{full: i for i, full in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))},
}
EVERY_DAY = ("every day", "everyday", "every-day", "daily", "all", "*")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_OFFSET = re.compile(r"^(?:UTC)?([+-])(\d{2}):(\d{2})$")


def parse_days(raw: str | Iterable[str]) -> list[int]:
    """``"every day"``, or a comma list of mon..sun (full names accepted), as sorted weekday numbers."""
    if isinstance(raw, str):
        text = raw.strip().lower()
        if text in EVERY_DAY or text == "":
            return list(range(7))
        parts = [p.strip() for p in text.split(",")]
    else:
        parts = [str(p).strip().lower() for p in raw]
    days: set[int] = set()
    for part in parts:
        if part not in _DAY_ALIASES:
            raise ValueError(f"expected 'every day' or a comma-separated list of mon,tue,wed,thu,fri,sat,sun; "
                             f"unknown day {part!r}")
        days.add(_DAY_ALIASES[part])
    return sorted(days)


def parse_time(raw: str) -> time:
    """``HH:MM``, 24-hour (``0:00`` and ``23:59`` included; kured's ``23:59:59`` style is refused)."""
    match = _TIME.match(raw.strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f"expected a time HH:MM between 00:00 and 23:59, got {raw!r}")
    return time(int(match[1]), int(match[2]))


def parse_zone(raw: str) -> tzinfo:
    """An IANA time zone (``Europe/Berlin``), ``UTC``, or a fixed offset ``UTC+05:30`` / ``-07:00``."""
    text = raw.strip()
    if text.upper() in ("UTC", "Z", "ETC/UTC"):
        return UTC
    offset = _OFFSET.match(text)
    if offset:
        hours, minutes = int(offset[2]), int(offset[3])
        if hours > 14 or minutes > 59:
            raise ValueError(f"expected a UTC offset between -14:00 and +14:00, got {raw!r}")
        delta = timedelta(hours=hours, minutes=minutes)
        return timezone(delta if offset[1] == "+" else -delta)
    try:
        if not text or text.startswith("/") or ".." in text:
            raise ValueError
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"expected an IANA time zone such as Europe/Berlin or UTC, got {raw!r}") from None


def parse_dates(raw: str | Iterable[str]) -> list[date]:
    """A comma or space separated list of ``YYYY-MM-DD`` dates (empty: none), sorted, unique."""
    parts = raw.replace(",", " ").split() if isinstance(raw, str) else [str(p).strip() for p in raw]
    out: set[date] = set()
    for part in parts:
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", part):
                raise ValueError
            out.add(date.fromisoformat(part))
        except ValueError:
            raise ValueError(f"expected dates YYYY-MM-DD separated by commas, got {part!r}") from None
    return sorted(out)
