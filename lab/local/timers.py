"""Timer-trigger schedules, fired like the Functions host fires them.

A schedule is an NCRONTAB expression (6 fields, seconds first; 5-field cron is accepted
too) or a ``[d.]hh:mm:ss`` interval, and may be an app-setting reference ``%NAME%``
resolved from the environment as the host does. Times are UTC.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from croniter import croniter

log = logging.getLogger(__name__)
_SETTING = re.compile(r"^%([^%]+)%$")
_INTERVAL = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})$")


def resolve_setting(expression: str, environ: Mapping[str, str] | None = None) -> str:
    """``%NAME%`` -> the value of app setting NAME; anything else unchanged."""
    environ = os.environ if environ is None else environ
    match = _SETTING.match(expression.strip())
    if not match:
        return expression.strip()
    name = match.group(1)
    if name not in environ:
        raise ValueError(f"timer schedule refers to app setting {name!r}, which is not set")
    return environ[name].strip()


class Schedule:
    """When a timer fires next, from an NCRONTAB expression or a TimeSpan interval."""

    def __init__(self, expression: str, environ: Mapping[str, str] | None = None) -> None:
        self.expression = resolve_setting(expression, environ)
        interval = _INTERVAL.match(self.expression)
        self._interval: timedelta | None = None
        self._seconds_first = True
        if interval:
            days, hours, minutes, seconds = (int(g or 0) for g in interval.groups())
            self._interval = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
            if self._interval <= timedelta(0):
                raise ValueError(f"timer interval must be positive: {self.expression!r}")
            return
        fields = len(self.expression.split())
        if fields not in (5, 6):
            raise ValueError(f"not an NCRONTAB expression (6 fields, seconds first): {self.expression!r}")
        self._seconds_first = fields == 6
        if not croniter.is_valid(self.expression, second_at_beginning=self._seconds_first):
            raise ValueError(f"invalid NCRONTAB expression: {self.expression!r}")

    def next_after(self, moment: datetime) -> datetime:
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        if self._interval is not None:
            return moment + self._interval
        cron = croniter(self.expression, moment, second_at_beginning=self._seconds_first)
        return cron.get_next(datetime)


Fire = Callable[[str, bool, "datetime | None", datetime], object]


class TimerScheduler:
    """A thread firing each timer on its schedule via ``fire(name, past_due, last, next)``."""

    def __init__(self, schedules: Mapping[str, Schedule], fire: Fire,
                 run_on_startup: frozenset[str] = frozenset(),
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._schedules = dict(schedules)
        self._fire = fire
        self._clock = clock
        self._run_on_startup = run_on_startup
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="local-timers", daemon=True)

    def start(self) -> TimerScheduler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        now = self._clock()
        due = {name: schedule.next_after(now) for name, schedule in self._schedules.items()}
        last: dict[str, datetime | None] = dict.fromkeys(self._schedules)
        for name in sorted(self._run_on_startup & set(self._schedules)):
            self._safe_fire(name, False, None, due[name])
        while due and not self._stop.is_set():
            name = min(due, key=lambda n: due[n])
            wait = (due[name] - self._clock()).total_seconds()
            if wait > 0 and self._stop.wait(wait):
                return
            fired_at = self._clock()
            past_due = (fired_at - due[name]).total_seconds() > 1.0
            following = self._schedules[name].next_after(max(fired_at, due[name]))
            self._safe_fire(name, past_due, last[name], following)
            last[name], due[name] = fired_at, following

    def _safe_fire(self, name: str, past_due: bool, last: datetime | None, next_fire: datetime) -> None:
        try:
            self._fire(name, past_due, last, next_fire)
        except Exception:
            log.exception("timer function %s failed", name)
