"""Maintenance windows: pure functions, checked against hand-computed UTC instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from rebooter.policy import windows as w
from rebooter.policy.window_settings import parse_window
from rebooter.policy.windows import Window, WindowError, closes_at, is_open, next_open


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ---- defaults and simple ranges -----------------------------------------------------------------


def test_default_window_is_always_open():
    window = parse_window()
    assert window.always_open
    assert is_open(window, utc(2024, 5, 1, 13, 7))
    assert next_open(window, utc(2024, 5, 1, 13, 7)) == utc(2024, 5, 1, 13, 7)
    assert closes_at(window, utc(2024, 5, 1, 13, 7)) is None


def test_naive_moments_are_taken_as_utc():
    window = parse_window("every day", "10:00", "12:00")
    assert is_open(window, datetime(2024, 5, 1, 11, 0))
    assert next_open(window, datetime(2024, 5, 1, 9, 0)) == utc(2024, 5, 1, 10, 0)


def test_start_inclusive_end_exclusive():
    window = parse_window("every day", "10:00", "12:00")
    assert is_open(window, utc(2024, 5, 1, 10, 0))
    assert is_open(window, utc(2024, 5, 1, 11, 59, 59))
    assert not is_open(window, utc(2024, 5, 1, 12, 0))
    assert not is_open(window, utc(2024, 5, 1, 9, 59, 59))
    assert closes_at(window, utc(2024, 5, 1, 11, 0)) == utc(2024, 5, 1, 12, 0)


def test_closes_at_returns_the_moment_when_closed():
    window = parse_window("every day", "10:00", "12:00")
    assert closes_at(window, utc(2024, 5, 1, 13, 0)) == utc(2024, 5, 1, 13, 0)


# ---- wrapping past midnight -------------------------------------------------------------------


def test_wrap_past_midnight_belongs_to_the_day_it_opens():
    # Saturday 22:00 -> Sunday 04:00 only (2024-05-04 is a Saturday).
    window = parse_window("sat", "22:00", "04:00")
    assert is_open(window, utc(2024, 5, 4, 23, 0))
    assert is_open(window, utc(2024, 5, 5, 3, 59))          # Sunday early morning: still Saturday's window
    assert not is_open(window, utc(2024, 5, 5, 4, 0))
    assert not is_open(window, utc(2024, 5, 4, 3, 0))       # Saturday early morning: Friday did not open
    assert not is_open(window, utc(2024, 5, 5, 23, 0))      # Sunday night: Sunday is not a window day
    assert closes_at(window, utc(2024, 5, 5, 1, 0)) == utc(2024, 5, 5, 4, 0)
    assert next_open(window, utc(2024, 5, 5, 5, 0)) == utc(2024, 5, 11, 22, 0)


def test_end_before_start_never_errors():
    window = parse_window("mon", "23:59", "00:00")
    assert is_open(window, utc(2024, 5, 6, 23, 59, 30))
    assert not is_open(window, utc(2024, 5, 7, 0, 0))


def test_end_equal_start_is_24_hours():
    window = parse_window("mon", "06:00", "06:00")
    assert is_open(window, utc(2024, 5, 6, 6, 0))
    assert is_open(window, utc(2024, 5, 7, 5, 59))
    assert not is_open(window, utc(2024, 5, 7, 6, 0))
    assert closes_at(window, utc(2024, 5, 6, 12, 0)) == utc(2024, 5, 7, 6, 0)


def test_back_to_back_days_close_once():
    window = parse_window("mon,tue,wed", "00:00", "00:00")
    assert closes_at(window, utc(2024, 5, 6, 12, 0)) == utc(2024, 5, 9, 0, 0)
    assert next_open(window, utc(2024, 5, 9, 1, 0)) == utc(2024, 5, 13, 0, 0)


# ---- next_open across a week ------------------------------------------------------------------


def test_next_open_across_a_week():
    window = parse_window("tue,thu", "02:00", "05:00", "UTC")
    # Thursday 2024-05-09 06:00 -> next Tuesday 2024-05-14 02:00
    assert next_open(window, utc(2024, 5, 9, 6, 0)) == utc(2024, 5, 14, 2, 0)
    # Tuesday before the window -> same day
    assert next_open(window, utc(2024, 5, 14, 1, 0)) == utc(2024, 5, 14, 2, 0)
    # Inside the window -> now
    assert next_open(window, utc(2024, 5, 14, 3, 0)) == utc(2024, 5, 14, 3, 0)


def test_full_day_names_and_every_day_spellings():
    assert parse_window("Monday, friday").days == frozenset({0, 4})
    assert parse_window("every day").days == frozenset(range(7))
    assert parse_window("EVERY DAY").days == frozenset(range(7))


def test_time_zone_shifts_the_window():
    window = parse_window("every day", "02:00", "04:00", "America/New_York")  # EDT in May: UTC-4
    assert is_open(window, utc(2024, 5, 1, 6, 30))
    assert not is_open(window, utc(2024, 5, 1, 2, 30))
    assert next_open(window, utc(2024, 5, 1, 0, 0)) == utc(2024, 5, 1, 6, 0)


# ---- DST in Europe/Berlin ---------------------------------------------------------------------


def test_dst_spring_forward_missing_start_moves_forward():
    # 2024-03-31: 02:00 CET -> 03:00 CEST. 02:30 does not exist: the window opens at 03:30 CEST.
    window = parse_window("every day", "02:30", "04:00", "Europe/Berlin")
    assert next_open(window, utc(2024, 3, 30, 23, 0)) == utc(2024, 3, 31, 1, 30)   # 03:30 CEST
    assert closes_at(window, utc(2024, 3, 31, 1, 45)) == utc(2024, 3, 31, 2, 0)    # 04:00 CEST
    # The day before and after: ordinary 1.5-hour windows in CET / CEST.
    assert next_open(window, utc(2024, 3, 29, 23, 0)) == utc(2024, 3, 30, 1, 30)   # 02:30 CET
    assert next_open(window, utc(2024, 3, 31, 3, 0)) == utc(2024, 4, 1, 0, 30)     # 02:30 CEST


def test_dst_wall_clock_window_is_shorter_and_longer():
    window = parse_window("every day", "00:00", "04:00", "Europe/Berlin")
    spring_open = next_open(window, utc(2024, 3, 30, 22, 0))
    assert spring_open == utc(2024, 3, 30, 23, 0)
    assert closes_at(window, spring_open) - spring_open == timedelta(hours=3)
    autumn_open = next_open(window, utc(2024, 10, 26, 21, 0))
    assert autumn_open == utc(2024, 10, 26, 22, 0)
    assert closes_at(window, autumn_open) - autumn_open == timedelta(hours=5)


def test_dst_fall_back_ambiguous_start_is_the_first():
    # 2024-10-27: 03:00 CEST -> 02:00 CET; 02:30 happens twice: the first (CEST, 00:30 UTC) opens it.
    window = parse_window("sun", "02:30", "03:30", "Europe/Berlin")
    assert next_open(window, utc(2024, 10, 26, 12, 0)) == utc(2024, 10, 27, 0, 30)
    assert closes_at(window, utc(2024, 10, 27, 0, 30)) == utc(2024, 10, 27, 2, 30)  # 03:30 CET


# ---- exclusion dates --------------------------------------------------------------------------


def test_exclusion_date_skips_that_day():
    window = parse_window("every day", "01:00", "03:00", "Europe/Berlin", "2024-12-25, 2024-12-26")
    assert not is_open(window, utc(2024, 12, 25, 1, 0))     # 02:00 CET on the 25th
    assert is_open(window, utc(2024, 12, 24, 1, 0))
    assert next_open(window, utc(2024, 12, 24, 3, 0)) == utc(2024, 12, 27, 0, 0)  # 01:00 CET on the 27th


def test_exclusion_cuts_a_wrapping_window_at_local_midnight():
    window = parse_window("every day", "22:00", "06:00", "Europe/Berlin", "2024-12-25")
    evening = utc(2024, 12, 24, 21, 30)  # 22:30 CET on the 24th
    assert is_open(window, evening)
    assert closes_at(window, evening) == utc(2024, 12, 24, 23, 0)  # midnight CET
    assert not is_open(window, utc(2024, 12, 25, 1, 0))
    assert not is_open(window, utc(2024, 12, 25, 22, 0))           # the 25th's window never opens
    assert next_open(window, utc(2024, 12, 25, 0, 0)) == utc(2024, 12, 26, 21, 0)


def test_exclusion_dates_are_in_the_window_zone():
    # 2024-07-04 in Los Angeles runs 07:00 UTC on the 4th to 07:00 UTC on the 5th.
    window = parse_window("every day", "00:00", "00:00", "America/Los_Angeles", "2024-07-04")
    assert is_open(window, utc(2024, 7, 4, 6, 59))
    assert not is_open(window, utc(2024, 7, 4, 7, 0))
    assert next_open(window, utc(2024, 7, 4, 12, 0)) == utc(2024, 7, 5, 7, 0)
    assert closes_at(window, utc(2024, 7, 3, 12, 0)) == utc(2024, 7, 4, 7, 0)


def test_never_opening_window_raises():
    window = Window(days=frozenset({0}), exclude=((datetime(2000, 1, 1).date(), datetime(2100, 1, 1).date()),))
    with pytest.raises(WindowError, match="does not open"):
        next_open(window, utc(2024, 1, 1))


# ---- errors name the setting ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "setting", "expected"),
    [
        ({"time_zone": "Europe/Atlantis"}, "REBOOTER_WINDOW_TIME_ZONE", "IANA time zone"),
        ({"time_zone": "../etc/passwd"}, "REBOOTER_WINDOW_TIME_ZONE", "IANA time zone"),
        ({"start": "7pm"}, "REBOOTER_WINDOW_START", "HH:MM"),
        ({"end": "24:00"}, "REBOOTER_WINDOW_END", "HH:MM"),
        ({"start": "23:59:59"}, "REBOOTER_WINDOW_START", "HH:MM"),
        ({"days": "mon,fry"}, "REBOOTER_WINDOW_DAYS", "mon,tue,wed,thu,fri,sat,sun"),
        ({"exclude_dates": "2024-02-30"}, "REBOOTER_WINDOW_EXCLUDE_DATES", "YYYY-MM-DD"),
        ({"exclude_dates": "25.12.2024"}, "REBOOTER_WINDOW_EXCLUDE_DATES", "YYYY-MM-DD"),
    ],
)
def test_errors_name_the_setting_and_the_form(kwargs, setting, expected):
    with pytest.raises(WindowError) as info:
        parse_window(**kwargs)
    assert setting in str(info.value)
    assert expected in str(info.value)


def test_several_errors_reported_at_once():
    with pytest.raises(WindowError) as info:
        parse_window("someday", "25:00", "00:00", "Nowhere/Town")
    text = str(info.value)
    assert "REBOOTER_WINDOW_DAYS" in text and "REBOOTER_WINDOW_START" in text and "REBOOTER_WINDOW_TIME_ZONE" in text


def test_round_trip_through_json():
    window = parse_window("mon,fri", "22:00", "03:30", "Europe/Berlin", "2024-12-24")
    again = Window.from_dict(window.to_dict())
    assert again == window
    assert window.to_dict()["description"] == "mon,fri 22:00-03:30 Europe/Berlin, except 2024-12-24"


def test_fixed_offset_zone():
    window = parse_window("every day", "02:00", "06:00", "UTC+05:30")
    assert window.tz == timezone(timedelta(hours=5, minutes=30))
    assert is_open(window, utc(2024, 1, 1, 0, 0))  # 05:30 local
    assert next_open(window, utc(2024, 1, 1, 1, 0)) == utc(2024, 1, 1, 20, 30)  # 02:00 on the 2nd, local


def test_window_module_is_pure():
    """Orchestrators call it: it must import nothing that does I/O or reads the clock."""
    import ast
    from pathlib import Path

    from rebooter.policy import cronwindow, window_parse

    pure = {"__future__", "re", "collections.abc", "dataclasses", "datetime", "typing", "zoneinfo",
            "rebooter.policy.cronwindow", "rebooter.policy.window_parse",
            "croniter"}  # croniter: schedule arithmetic only
    for module in (w, cronwindow, window_parse):
        tree = ast.parse(Path(module.__file__).read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
            a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert imported <= pure, module.__name__
        calls = {n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
        assert not calls & {"now", "utcnow", "today"}, module.__name__


def test_cron_window_opens_for_its_duration_after_each_occurrence():
    from datetime import UTC, datetime

    from rebooter.policy.cronwindow import CronWindow

    window = CronWindow("0 0 2 * * sat", 4 * 3600)  # Saturdays 02:00-06:00 UTC
    saturday = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    assert window.is_open(saturday)
    assert window.closes_at(saturday) == datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
    assert not window.is_open(datetime(2026, 11, 28, 6, 0, tzinfo=UTC))
    assert window.next_open(datetime(2026, 11, 28, 7, 0, tzinfo=UTC)) == datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
    assert window.is_open(datetime(2026, 11, 28, 2, 0, tzinfo=UTC)), "open at the exact occurrence"


@pytest.mark.parametrize("schedule,duration,text", [("bad", 10, "NCRONTAB"), ("0 0 2 * * sat", 0, "positive")])
def test_cron_window_errors_name_the_setting(schedule, duration, text):
    from rebooter.policy.cronwindow import CronWindow

    with pytest.raises(ValueError, match=text):
        CronWindow(schedule, duration)
