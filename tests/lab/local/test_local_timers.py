"""Timer starters: fired on request and on their NCRONTAB schedule (app-setting reference)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from durabletask.client import OrchestrationStatus

from lab.local import LocalEngine
from lab.local.timers import Schedule, TimerScheduler, resolve_setting

from . import toy_app
from .local_http_helpers import eventually


def test_fire_timer_runs_the_starter_with_the_durable_client(engine: LocalEngine,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOY_SCHEDULE", "0 0 * * * *")
    assert engine.fire_timer("timer_start") == "toy-timer"
    state = engine.wait_for_completion("toy-timer")
    assert state.runtime_status == OrchestrationStatus.COMPLETED
    assert state.get_output() == {"doubled": [2, 4, 6], "total": 12}
    assert state.get_input() == {"items": [1, 2, 3], "past_due": False}
    # a finished instance id is reused by the next firing
    assert engine.fire_timer("timer_start", past_due=True) == "toy-timer"
    assert engine.wait_for_completion("toy-timer").get_input()["past_due"] is True


def test_schedule_setting_must_exist(engine: LocalEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOY_SCHEDULE", raising=False)
    with pytest.raises(ValueError, match="TOY_SCHEDULE"):
        engine.fire_timer("timer_start")


def test_run_timers_fires_on_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOY_SCHEDULE", "*/1 * * * * *")  # every second
    with LocalEngine(toy_app.app).start(run_timers=True) as eng:
        state = eventually(lambda: eng.client.get_orchestration_state("toy-timer"), timeout=4)
        assert eng.wait_for_completion(state.instance_id).get_output()["total"] == 12


def test_ncrontab_six_fields_seconds_first() -> None:
    start = datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC)
    assert Schedule("*/15 * * * * *").next_after(start) == datetime(2026, 1, 1, 0, 0, 15, tzinfo=UTC)
    assert Schedule("0 30 2 * * *").next_after(start) == datetime(2026, 1, 1, 2, 30, tzinfo=UTC)
    assert Schedule("0 0 * * * 1-5").next_after(start) == datetime(2026, 1, 1, 1, 0, tzinfo=UTC)  # Thursday
    assert Schedule("00:05:00").next_after(start) == datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
    with pytest.raises(ValueError):
        Schedule("every hour")


def test_app_setting_reference() -> None:
    assert resolve_setting("%PATCH_SCHEDULE%", {"PATCH_SCHEDULE": " 0 0 * * * * "}) == "0 0 * * * *"
    assert resolve_setting("0 0 * * * *", {}) == "0 0 * * * *"
    assert Schedule("%S%", {"S": "0 0 3 * * *"}).expression == "0 0 3 * * *"
    with pytest.raises(ValueError, match="MISSING"):
        resolve_setting("%MISSING%", {})


def test_scheduler_reports_past_due_and_last() -> None:
    fired: list[tuple[str, bool, datetime | None]] = []
    scheduler = TimerScheduler({"t": Schedule("00:00:01")},
                               lambda name, past_due, last, nxt: fired.append((name, past_due, last)),
                               run_on_startup=frozenset({"t"})).start()
    try:
        eventually(lambda: len(fired) >= 2, timeout=3)
    finally:
        scheduler.stop()
    assert fired[0] == ("t", False, None)  # run_on_startup
    assert fired[1][0] == "t" and fired[1][1] is False
