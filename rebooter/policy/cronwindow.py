"""Cron windows: open for a duration after each NCRONTAB occurrence (Karpenter's budget shape).

An alternative to daily windows for operators who think in schedules ("every Saturday at
02:00 for 4 hours": ``0 0 2 * * sat`` + 14400 s) and for tests, where a window that opens for
ten seconds every half minute exercises "closes mid-cycle, resumes at the next opening".
Pure computation (croniter), safe in orchestrators.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from croniter import croniter


@dataclass(frozen=True)
class CronWindow:
    schedule: str  # 6-field NCRONTAB (seconds first), evaluated in UTC
    duration_seconds: float

    def __post_init__(self) -> None:
        fields = self.schedule.split()
        if len(fields) != 6 or not croniter.is_valid(self.schedule, second_at_beginning=True):
            raise ValueError(f"REBOOTER_WINDOW_SCHEDULE: expected a 6-field NCRONTAB expression, got {self.schedule!r}")
        if not self.duration_seconds > 0:
            raise ValueError("REBOOTER_WINDOW_DURATION_SECONDS: expected a positive number of seconds with a schedule")

    def _last_start(self, moment: datetime) -> datetime:
        # croniter.get_prev is strict (< moment); an occurrence exactly now counts as open.
        probe = moment + timedelta(microseconds=1)
        return croniter(self.schedule, probe, second_at_beginning=True).get_prev(datetime)

    def is_open(self, moment: datetime) -> bool:
        moment = _aware(moment)
        return moment < self._last_start(moment) + timedelta(seconds=self.duration_seconds)

    def next_open(self, moment: datetime) -> datetime:
        moment = _aware(moment)
        if self.is_open(moment):
            return moment
        return croniter(self.schedule, moment, second_at_beginning=True).get_next(datetime)

    def closes_at(self, moment: datetime) -> datetime:
        moment = _aware(moment)
        if not self.is_open(moment):
            return moment
        return self._last_start(moment) + timedelta(seconds=self.duration_seconds)

    def describe(self) -> str:
        return f"cron '{self.schedule}' UTC, open {self.duration_seconds:g}s each time"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "cron", "schedule": self.schedule, "durationSeconds": self.duration_seconds,
                "description": self.describe()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CronWindow:
        return cls(str(data["schedule"]), float(data["durationSeconds"]))


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
