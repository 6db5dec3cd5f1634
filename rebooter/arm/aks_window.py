"""AKS planned maintenance: the cluster's ``aksManagedNodeOSUpgradeSchedule`` maintenance
configuration read through ARM and turned into a Window.

The configuration name and the ``maintenanceWindow`` schema are AKS's (REST API
"Maintenance Configurations - Get", Microsoft.ContainerService; docs page "Use Planned
Maintenance to schedule and control upgrades for your AKS cluster").
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time
from typing import Any

from rebooter.policy.window_parse import parse_time, parse_zone
from rebooter.policy.windows import Window, WindowError

AKS_CONFIG_NAME = "aksManagedNodeOSUpgradeSchedule"
_AKS_WEEKDAYS = {name: i for i, name in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday",
                                                     "saturday", "sunday"))}


def window_from_aks(maintenance_window: Mapping[str, Any]) -> Window:
    """Convert an AKS ``maintenanceWindow`` (REST JSON, camelCase) into a Window.

    Supported: ``daily`` (every N days) and ``weekly`` (every N weeks on one day), counted from
    ``startDate``; ``durationHours`` (4-24) from ``startTime`` in ``utcOffset``; ``startDate``;
    ``notAllowedDates`` (inclusive date spans in the offset). ``absoluteMonthly`` and
    ``relativeMonthly`` raise WindowError ("unsupported schedule").
    """
    mw = maintenance_window or {}
    schedule = mw.get("schedule") or {}
    kinds = [k for k in ("daily", "weekly", "absoluteMonthly", "relativeMonthly") if schedule.get(k)]
    if len(kinds) != 1:
        raise WindowError(f"maintenanceWindow.schedule: expected exactly one of daily, weekly, absoluteMonthly, "
                          f"relativeMonthly, got {sorted(schedule) or 'none'}")
    kind = kinds[0]
    if kind in ("absoluteMonthly", "relativeMonthly"):
        raise WindowError(f"unsupported schedule: maintenanceWindow.schedule.{kind} (only daily and weekly schedules "
                          f"of {AKS_CONFIG_NAME} can be followed; use REBOOTER_WINDOW_SOURCE=settings)")
    try:
        duration = int(mw.get("durationHours"))
    except (TypeError, ValueError):
        raise WindowError(f"maintenanceWindow.durationHours: expected 4 to 24, got {mw.get('durationHours')!r}") from None
    if not 4 <= duration <= 24:
        raise WindowError(f"maintenanceWindow.durationHours: expected 4 to 24, got {duration}")
    offset = str(mw.get("utcOffset") or "+00:00")
    try:
        start = parse_time(str(mw.get("startTime", "")))
        parse_zone(offset)
        start_date = date.fromisoformat(str(mw["startDate"])) if mw.get("startDate") else None
        spans = tuple((date.fromisoformat(str(s["start"])), date.fromisoformat(str(s["end"])))
                      for s in mw.get("notAllowedDates") or [])
    except (ValueError, KeyError, TypeError) as exc:
        raise WindowError(f"maintenanceWindow: {exc}") from None
    end_minutes = (start.hour * 60 + start.minute + duration * 60) % (24 * 60)
    end = time(end_minutes // 60, end_minutes % 60)
    if kind == "daily":
        interval, unit, days = int(schedule["daily"].get("intervalDays") or 1), "days", frozenset(range(7))
    else:
        weekly = schedule["weekly"]
        day_name = str(weekly.get("dayOfWeek", "")).lower()
        if day_name not in _AKS_WEEKDAYS:
            raise WindowError(f"maintenanceWindow.schedule.weekly.dayOfWeek: expected Monday..Sunday, "
                              f"got {weekly.get('dayOfWeek')!r}")
        interval, unit, days = int(weekly.get("intervalWeeks") or 1), "weeks", frozenset({_AKS_WEEKDAYS[day_name]})
    anchor = start_date
    if interval > 1 and anchor is None:
        raise WindowError(f"unsupported schedule: every {interval} {unit} without maintenanceWindow.startDate "
                          "(the weeks or days cannot be counted)")
    return Window(days=days, start=start, end=end, zone=f"UTC{offset}" if offset[0] in "+-" else offset,
                  exclude=tuple(sorted(spans)), interval=interval, unit=unit, anchor=anchor,
                  not_before=start_date, source="aks")



def read_window(arm: Any, resource_group: str, cluster: str) -> dict[str, Any]:
    """The cluster's planned maintenance as plain JSON for an orchestrator: ``{found: false}``, or
    ``{found: true, window: <Window.to_dict()> | None, error, maintenanceWindow}`` where window is
    None (and error says why) for an unsupported schedule or a configuration without one.

    ``arm`` is a ContainerServiceClient; ``maintenance_configurations.get`` needs the action
    ``Microsoft.ContainerService/managedClusters/maintenanceConfigurations/read``."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        config = arm.maintenance_configurations.get(resource_group, cluster, AKS_CONFIG_NAME)
    except ResourceNotFoundError:
        return {"found": False}
    raw = config.as_dict() if hasattr(config, "as_dict") else dict(config)
    mw = (raw.get("properties") or {}).get("maintenanceWindow") or raw.get("maintenanceWindow")
    if not mw:
        return {"found": True, "window": None, "maintenanceWindow": None,
                "error": f"{AKS_CONFIG_NAME} has no maintenanceWindow"}
    try:
        window = window_from_aks(mw).to_dict()
        error = ""
    except WindowError as exc:
        window, error = None, str(exc)
    return {"found": True, "window": window, "error": error, "maintenanceWindow": _jsonable(mw)}


def _jsonable(value: Any) -> Any:
    """as_dict() keeps dates as strings already; make sure nothing else slips into the history."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
