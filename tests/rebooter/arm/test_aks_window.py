"""AKS planned maintenance (aksManagedNodeOSUpgradeSchedule) as a Window, and its activity."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.containerservice import models

from activities import safety
from rebooter.arm import clients
from rebooter.arm.aks_window import window_from_aks
from rebooter.config import settings
from rebooter.policy.window_settings import effective_window
from rebooter.policy.windows import WindowError, closes_at, is_open, next_open

CLUSTER = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1"
ACCESS = settings.activity_settings(settings.load({}))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_weekly_with_offset_and_duration():
    window = window_from_aks({"schedule": {"weekly": {"intervalWeeks": 1, "dayOfWeek": "Sunday"}},
                              "durationHours": 4, "utcOffset": "+02:00", "startTime": "01:00"})
    # Sunday 2024-05-05 01:00 +02:00 = Saturday 23:00 UTC, for 4 hours.
    assert next_open(window, utc(2024, 5, 1)) == utc(2024, 5, 4, 23, 0)
    assert closes_at(window, utc(2024, 5, 5, 0, 0)) == utc(2024, 5, 5, 3, 0)
    assert window.source == "aks"


def test_daily_24_hours_is_all_day_from_the_start_time():
    window = window_from_aks({"schedule": {"daily": {"intervalDays": 1}}, "durationHours": 24, "startTime": "00:00"})
    assert is_open(window, utc(2024, 5, 1, 12))
    assert closes_at(window, utc(2024, 5, 1, 12)) is None


def test_daily_wraps_past_midnight():
    window = window_from_aks({"schedule": {"daily": {"intervalDays": 1}}, "durationHours": 8, "startTime": "22:00",
                              "utcOffset": "-07:00"})
    # 22:00 -07:00 = 05:00 UTC next day, until 06:00 local = 13:00 UTC.
    assert is_open(window, utc(2024, 5, 2, 12, 59))
    assert not is_open(window, utc(2024, 5, 2, 13, 0))


def test_every_three_days_counted_from_start_date():
    window = window_from_aks({"schedule": {"daily": {"intervalDays": 3}}, "durationHours": 4, "startTime": "02:00",
                              "startDate": "2024-05-01"})
    assert next_open(window, utc(2024, 4, 1)) == utc(2024, 5, 1, 2)   # inactive before startDate
    assert next_open(window, utc(2024, 5, 1, 7)) == utc(2024, 5, 4, 2)
    assert next_open(window, utc(2024, 5, 4, 7)) == utc(2024, 5, 7, 2)


def test_every_two_weeks():
    window = window_from_aks({"schedule": {"weekly": {"intervalWeeks": 2, "dayOfWeek": "Wednesday"}},
                              "durationHours": 6, "startTime": "03:00", "startDate": "2024-05-01"})  # a Wednesday
    assert next_open(window, utc(2024, 5, 1, 10)) == utc(2024, 5, 15, 3)
    assert not is_open(window, utc(2024, 5, 8, 4))


def test_not_allowed_dates_are_inclusive_in_the_offset():
    window = window_from_aks({"schedule": {"daily": {"intervalDays": 1}}, "durationHours": 4, "startTime": "01:00",
                              "utcOffset": "+02:00",
                              "notAllowedDates": [{"start": "2024-12-23", "end": "2025-01-03"}]})
    assert is_open(window, utc(2024, 12, 22, 0))  # 02:00 +02:00 on the 22nd: before the span
    assert next_open(window, utc(2024, 12, 22, 12)) == utc(2025, 1, 3, 23, 0)  # 01:00 +02:00 on 4 January
    assert not is_open(window, utc(2025, 1, 3, 0))  # 02:00 +02:00 on the 3rd: inside the span


@pytest.mark.parametrize("kind", ["absoluteMonthly", "relativeMonthly"])
def test_monthly_schedules_are_refused_clearly(kind):
    schedule = {"absoluteMonthly": {"intervalMonths": 1, "dayOfMonth": 15},
                "relativeMonthly": {"intervalMonths": 1, "weekIndex": "First", "dayOfWeek": "Monday"}}[kind]
    with pytest.raises(WindowError, match=f"unsupported schedule: maintenanceWindow.schedule.{kind}"):
        window_from_aks({"schedule": {kind: schedule}, "durationHours": 4, "startTime": "01:00"})


@pytest.mark.parametrize(("mw", "expected"), [
    ({"schedule": {"daily": {"intervalDays": 1}}, "durationHours": 2, "startTime": "01:00"}, "durationHours"),
    ({"schedule": {"weekly": {"intervalWeeks": 1, "dayOfWeek": "Caturday"}}, "durationHours": 4, "startTime": "01:00"},
     "dayOfWeek"),
    ({"schedule": {}, "durationHours": 4, "startTime": "01:00"}, "exactly one"),
    ({"schedule": {"weekly": {"intervalWeeks": 2, "dayOfWeek": "Monday"}}, "durationHours": 4, "startTime": "01:00"},
     "startDate"),
])
def test_bad_maintenance_windows(mw, expected):
    with pytest.raises(WindowError, match=expected):
        window_from_aks(mw)


# ---- the activity and effective_window --------------------------------------------------------


class FakeConfigs:
    def __init__(self, config):
        self.config = config
        self.calls = []

    def get(self, rg, name, config_name):
        self.calls.append((rg, name, config_name))
        if self.config is None:
            raise ResourceNotFoundError("not found")
        return self.config


class FakeArm:
    def __init__(self, config):
        self.maintenance_configurations = FakeConfigs(config)


@pytest.fixture
def arm(monkeypatch):
    holder = {}

    def install(config):
        holder["arm"] = FakeArm(config)
        monkeypatch.setattr(clients, "container_service", lambda sub, kind: holder["arm"])
        return holder["arm"]

    return install


def test_activity_reads_the_node_os_schedule(arm):
    fake = arm(models.MaintenanceConfiguration(maintenance_window=models.MaintenanceWindow(
        schedule=models.Schedule(weekly=models.WeeklySchedule(interval_weeks=1, day_of_week="Saturday")),
        duration_hours=6, start_time="22:00", utc_offset="+01:00")))
    result = safety.read_aks_maintenance_window({"cluster": CLUSTER, "settings": ACCESS})
    assert fake.maintenance_configurations.calls == [("rg", "aks1", "aksManagedNodeOSUpgradeSchedule")]
    assert result["found"] is True and result["error"] == ""
    assert result["window"]["days"] == ["sat"] and result["window"]["zone"] == "UTC+01:00"
    window = effective_window({"windowSource": "aks"}, result)
    assert is_open(window, utc(2024, 5, 4, 21, 30))  # Saturday 22:30 +01:00


def test_activity_404_is_not_found(arm):
    arm(None)
    result = safety.read_aks_maintenance_window({"cluster": CLUSTER, "settings": ACCESS})
    assert result == {"found": False}
    with pytest.raises(WindowError, match="no aksManagedNodeOSUpgradeSchedule"):
        effective_window({"windowSource": "aks"}, result)


def test_activity_reports_unsupported_schedule_without_failing(arm):
    arm(models.MaintenanceConfiguration(maintenance_window=models.MaintenanceWindow(
        schedule=models.Schedule(relative_monthly=models.RelativeMonthlySchedule(
            interval_months=1, week_index="First", day_of_week="Monday")),
        duration_hours=4, start_time="01:00")))
    result = safety.read_aks_maintenance_window({"cluster": CLUSTER, "settings": ACCESS})
    assert result["found"] is True and result["window"] is None
    assert "unsupported schedule" in result["error"]
    with pytest.raises(WindowError, match="unsupported schedule"):
        effective_window({"windowSource": "aks"}, result)


def test_effective_window_from_settings():
    window = effective_window({"windowSource": "settings", "windowDays": ["sat"], "windowStart": "22:00",
                               "windowEnd": "04:00", "windowTimeZone": "UTC", "windowExcludeDates": []})
    assert window.describe() == "sat 22:00-04:00 UTC"
