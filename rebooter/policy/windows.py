"""Maintenance windows: when the app may take nodes out (kured's --reboot-days, --start-time,
--end-time, --time-zone, plus exclusion dates and AKS planned maintenance).

A window is a daily time range, in a time zone, on chosen days of the week:

* ``days`` name the day an *occurrence* opens. A range whose end is before its start wraps past
  midnight and runs into the next morning (``sat 22:00-02:00`` covers Saturday night into Sunday
  02:00). kured instead checks the weekday of the moment itself, so its Saturday window is open
  early Saturday morning and shut early Sunday morning; here an occurrence belongs to the day it
  opens, which is what operators mean.
* ``end == start`` is a whole day (24 hours of wall-clock time) from ``start``; the defaults
  (every day, 00:00-00:00) are therefore "always open".
* Exclusion dates are whole local days: nothing opens on an excluded day, and an occurrence
  that started the evening before closes at the excluded day's midnight (safe rather than late).
  AKS ``notAllowedDates`` spans have the same meaning (inclusive, in the window's offset).
* Times are wall-clock times in the zone. On a DST change a start or end that does not exist
  (the spring-forward gap) moves forward by the gap; one that exists twice (fall back) is the
  first of the two. A 00:00-04:00 window therefore lasts 3 or 5 hours on those nights.

Everything here is pure and deterministic (the orchestrators call it with
``context.current_utc_datetime``); a Window round-trips through JSON with ``to_dict`` /
``Window.from_dict`` so an activity can hand one to an orchestrator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from rebooter.policy.cronwindow import CronWindow
from rebooter.policy.window_parse import DAY_NAMES, parse_days, parse_time, parse_zone

# How far next_open / closes_at look: three years of days covers every schedule we accept.
SEARCH_DAYS = 3 * 366


class WindowError(ValueError):
    """A window cannot be built (the message names the setting or field and the expected form),
    or it never opens within the search horizon."""


@dataclass(frozen=True)
class Window:
    """A recurring daily time range; see the module docstring for the exact semantics.

    ``interval``/``unit``/``anchor`` express AKS "every N days / every N weeks" schedules
    (counted from ``anchor``); ``not_before`` is AKS ``startDate``. Settings windows use the
    defaults (every week, no start date).
    """

    days: frozenset[int] = frozenset(range(7))  # 0 = Monday ... 6 = Sunday
    start: time = time(0, 0)
    end: time = time(0, 0)
    zone: str = "UTC"  # IANA name, or a fixed offset such as "UTC+02:00" (AKS utcOffset)
    exclude: tuple[tuple[date, date], ...] = ()  # inclusive local date ranges
    interval: int = 1
    unit: str = "weeks"  # "days" | "weeks": what interval counts
    anchor: date | None = None
    not_before: date | None = None
    source: str = "settings"
    _tz: tzinfo = field(default=UTC, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "_tz", parse_zone(self.zone))
        except ValueError as exc:
            raise WindowError(f"zone: {exc}") from None
        if not self.days:
            raise WindowError("a window needs at least one day")
        if self.interval < 1 or self.unit not in ("days", "weeks"):
            raise WindowError(f"invalid recurrence: every {self.interval} {self.unit}")
        if self.interval > 1 and self.anchor is None:
            raise WindowError(f"a recurrence of every {self.interval} {self.unit} needs a start date to count from")

    @property
    def tz(self) -> tzinfo:
        return self._tz

    @property
    def always_open(self) -> bool:
        return (len(self.days) == 7 and self.start == self.end and self.interval == 1 and not self.exclude
                and self.not_before is None)

    def describe(self) -> str:
        """One line for status pages and reasons, e.g. ``mon,tue 22:00-02:00 Europe/Berlin``."""
        days = "every day" if len(self.days) == 7 else ",".join(DAY_NAMES[d] for d in sorted(self.days))
        if self.interval > 1:
            days += f" every {self.interval} {self.unit} from {self.anchor}"
        span = "all day" if self.start == self.end and self.start == time(0) else \
            f"{self.start:%H:%M}-{self.end:%H:%M}" + (" (24h)" if self.start == self.end else "")
        text = f"{days} {span} {self.zone}"
        if self.not_before:
            text += f", from {self.not_before}"
        if self.exclude:
            text += ", except " + ", ".join(str(a) if a == b else f"{a}..{b}" for a, b in self.exclude)
        return text

    def to_dict(self) -> dict[str, Any]:
        """JSON for orchestrator inputs and activity results."""
        return {
            "days": [DAY_NAMES[d] for d in sorted(self.days)],
            "start": f"{self.start:%H:%M}",
            "end": f"{self.end:%H:%M}",
            "zone": self.zone,
            "exclude": [[a.isoformat(), b.isoformat()] for a, b in self.exclude],
            "interval": self.interval,
            "unit": self.unit,
            "anchor": self.anchor.isoformat() if self.anchor else None,
            "notBefore": self.not_before.isoformat() if self.not_before else None,
            "source": self.source,
            "description": self.describe(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Window:
        """Inverse of ``to_dict`` (extra keys such as ``description`` are ignored)."""
        try:
            return cls(
                days=frozenset(parse_days(data.get("days") or "every day")),
                start=parse_time(str(data.get("start", "00:00"))),
                end=parse_time(str(data.get("end", "00:00"))),
                zone=str(data.get("zone", "UTC")),
                exclude=tuple((date.fromisoformat(a), date.fromisoformat(b)) for a, b in data.get("exclude") or []),
                interval=int(data.get("interval", 1)),
                unit=str(data.get("unit", "weeks")),
                anchor=date.fromisoformat(data["anchor"]) if data.get("anchor") else None,
                not_before=date.fromisoformat(data["notBefore"]) if data.get("notBefore") else None,
                source=str(data.get("source", "settings")),
            )
        except (TypeError, ValueError) as exc:
            raise WindowError(f"invalid window {dict(data)!r}: {exc}") from None


# ---- evaluation -------------------------------------------------------------------------------


def _aware(moment: datetime) -> datetime:
    """Durable contexts give naive UTC (durabletask) or aware UTC (classic): accept both."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _local(window: Window, day: date, at: time) -> datetime:
    """Wall-clock ``day at`` in the window's zone, as UTC (gap: shifted forward; fold: the first)."""
    return datetime.combine(day, at, tzinfo=window.tz).astimezone(UTC)


def _excluded(window: Window, day: date) -> bool:
    return any(a <= day <= b for a, b in window.exclude)


def _opens_on(window: Window, day: date) -> bool:
    """Whether an occurrence opens on this local day."""
    if day.weekday() not in window.days or _excluded(window, day):
        return False
    if window.not_before and day < window.not_before:
        return False
    if window.interval > 1 and window.anchor is not None:
        if window.unit == "days":
            steps = (day - window.anchor).days
        else:
            steps = (day - (window.anchor - timedelta(days=window.anchor.weekday()))).days // 7
        if steps < 0 or steps % window.interval:
            return False
    return True


def _occurrence(window: Window, day: date) -> tuple[datetime, datetime]:
    """UTC bounds of the occurrence opening on local ``day`` (end exclusive)."""
    opens = _local(window, day, window.start)
    end_day = day + timedelta(days=1) if window.end <= window.start else day
    return opens, _local(window, end_day, window.end)


def _local_date(window: Window, moment: datetime) -> date:
    return moment.astimezone(window.tz).date()


def _next_midnight(window: Window, moment: datetime) -> datetime:
    return _local(window, _local_date(window, moment) + timedelta(days=1), time(0))


def _occurrences_from(window: Window, moment: datetime, days: int):
    """Occurrences that end after ``moment``, in order, looking ``days`` local days ahead."""
    first = _local_date(window, moment) - timedelta(days=2)  # one may have opened yesterday (or earlier, DST)
    for offset in range(days + 3):
        day = first + timedelta(days=offset)
        if _opens_on(window, day):
            opens, closes = _occurrence(window, day)
            if closes > moment:
                yield opens, closes


def _first_allowed(window: Window, begin: datetime, end: datetime) -> datetime | None:
    """The first instant in [begin, end) whose local date is not excluded."""
    cursor = begin
    while cursor < end:
        if not _excluded(window, _local_date(window, cursor)):
            return cursor
        cursor = _next_midnight(window, cursor)
    return None


def is_open(window: Window | CronWindow, moment_utc: datetime) -> bool:
    """Whether nodes may be taken out at this moment."""
    if isinstance(window, CronWindow):
        return window.is_open(moment_utc)
    moment = _aware(moment_utc)
    if window.always_open:
        return True
    if _excluded(window, _local_date(window, moment)):
        return False
    for opens, closes in _occurrences_from(window, moment, 1):
        if opens <= moment < closes:
            return True
        if opens > moment:
            break
    return False


def next_open(window: Window | CronWindow, moment_utc: datetime) -> datetime:
    """The next moment (UTC, aware) the window is open: ``moment_utc`` itself when open now.

    Raises WindowError when it does not open within the search horizon (about three years),
    e.g. every allowed day is excluded.
    """
    if isinstance(window, CronWindow):
        return window.next_open(moment_utc)
    moment = _aware(moment_utc)
    if is_open(window, moment):
        return moment
    for opens, closes in _occurrences_from(window, moment, SEARCH_DAYS):
        found = _first_allowed(window, max(opens, moment), closes)
        if found is not None:
            return found
    raise WindowError(f"the maintenance window ({window.describe()}) does not open within {SEARCH_DAYS} days")


def closes_at(window: Window | CronWindow, moment_utc: datetime) -> datetime | None:
    """When the window that is open at ``moment_utc`` closes (UTC, aware).

    Back-to-back occurrences (all-day windows on consecutive days) count as one. Returns
    ``moment_utc`` itself when the window is closed at that moment, and None when it does not
    close within the search horizon (an always-open window).
    """
    if isinstance(window, CronWindow):
        return window.closes_at(moment_utc)
    moment = _aware(moment_utc)
    if not is_open(window, moment):
        return moment
    if window.always_open:
        return None
    end: datetime | None = None
    for opens, closes in _occurrences_from(window, moment, SEARCH_DAYS):
        if end is not None and opens > end:
            break  # a gap: the window closes at the previous occurrence's end
        begin = max(opens, moment) if end is None else opens
        cursor = begin
        while cursor < closes:  # an excluded day inside the occurrence cuts it at midnight
            if _excluded(window, _local_date(window, cursor)):
                return cursor
            cursor = _next_midnight(window, cursor)
        end = closes
    return end if end is not None and end - moment < timedelta(days=SEARCH_DAYS) else None
