"""The settings window: REBOOTER_WINDOW_* values parsed into a Window (kured's --reboot-days,
--start-time, --end-time, --time-zone, plus exclusion dates), cross-checked at load, and the window
a cycle must respect whatever its source (settings, AKS planned maintenance or cron).

Pure and deterministic: settings.load and the orchestrators call it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rebooter.arm.aks_window import AKS_CONFIG_NAME
from rebooter.policy.cronwindow import CronWindow
from rebooter.policy.window_parse import parse_dates, parse_days, parse_time, parse_zone
from rebooter.policy.windows import Window, WindowError

DAYS_SETTING = "REBOOTER_WINDOW_DAYS"
START_SETTING = "REBOOTER_WINDOW_START"
END_SETTING = "REBOOTER_WINDOW_END"
ZONE_SETTING = "REBOOTER_WINDOW_TIME_ZONE"
EXCLUDE_SETTING = "REBOOTER_WINDOW_EXCLUDE_DATES"
SOURCE_SETTING = "REBOOTER_WINDOW_SOURCE"


def parse_window(
    days: str | Iterable[str] = "every day",
    start: str = "00:00",
    end: str = "00:00",
    time_zone: str = "UTC",
    exclude_dates: str | Iterable[str] = "",
    source: str = "settings",
) -> Window:
    """Build a Window from setting values; every error names its setting and the expected form."""
    errors: list[str] = []
    parsed: dict[str, Any] = {}
    for key, setting, parser, raw in (
        ("days", DAYS_SETTING, parse_days, days),
        ("start", START_SETTING, parse_time, start),
        ("end", END_SETTING, parse_time, end),
        ("zone", ZONE_SETTING, parse_zone, time_zone),
        ("exclude", EXCLUDE_SETTING, parse_dates, exclude_dates),
    ):
        try:
            parsed[key] = parser(raw)
        except (ValueError, TypeError, AttributeError) as exc:
            errors.append(f"{setting}: {exc}")
    if errors:
        raise WindowError("; ".join(errors))
    return Window(
        days=frozenset(parsed["days"]),
        start=parsed["start"],
        end=parsed["end"],
        zone=time_zone.strip(),
        exclude=tuple((d, d) for d in parsed["exclude"]),
        source=source,
    )


def window_from_settings(values: Mapping[str, Any]) -> Window:
    """The settings window from the loaded settings dict (keys windowDays, windowStart, ...)."""
    return parse_window(
        values.get("windowDays", "every day"),
        values.get("windowStart", "00:00"),
        values.get("windowEnd", "00:00"),
        values.get("windowTimeZone", "UTC"),
        values.get("windowExcludeDates", ""),
    )


def validate_window_settings(values: Mapping[str, Any]) -> list[str]:
    """Cross-field checks run by settings.load; returns error lines naming the settings.

    With ``REBOOTER_WINDOW_SOURCE=aks`` the window comes from the cluster's planned maintenance
    and the settings window would be silently ignored: refuse a non-default one instead.
    """
    errors: list[str] = []
    try:
        window = window_from_settings(values)
    except WindowError as exc:
        return [str(exc)]
    if values.get("windowSource") == "aks" and window != Window():
        errors.append(f"{SOURCE_SETTING}: is 'aks' (the AKS aksManagedNodeOSUpgradeSchedule decides), so "
                      f"{DAYS_SETTING}, {START_SETTING}, {END_SETTING}, {ZONE_SETTING} and {EXCLUDE_SETTING} "
                      "would be ignored; leave them unset or use 'settings'")
    if values.get("windowSource") == "cron":
        try:
            CronWindow(str(values.get("windowSchedule", "")), float(values.get("windowDurationSeconds", 0)))
        except ValueError as exc:
            errors.append(f"{SOURCE_SETTING} is 'cron': {exc}")
    return errors



def effective_window(values: Mapping[str, Any], aks: Mapping[str, Any] | None = None) -> Window | CronWindow:
    """The window a cycle must respect, from the settings and (source "aks") the activity result.

    ``aks`` is what ``read_aks_maintenance_window`` returned. Raises WindowError with the reason
    to report when the cycle cannot know its window (safe default: do nothing), e.g. source
    "aks" but the cluster has no aksManagedNodeOSUpgradeSchedule, or its schedule is unsupported.
    """
    if values.get("windowSource", "settings") == "cron":
        try:
            return CronWindow(str(values.get("windowSchedule", "")), float(values.get("windowDurationSeconds", 0)))
        except ValueError as exc:
            raise WindowError(str(exc)) from None
    if values.get("windowSource", "settings") != "aks":
        return window_from_settings(values)
    if aks is None:
        raise WindowError(f"{SOURCE_SETTING} is aks but the cluster's planned maintenance was not read")
    if not aks.get("found"):
        raise WindowError(f"{SOURCE_SETTING} is aks but the cluster has no {AKS_CONFIG_NAME} maintenance "
                          f"configuration; create one (az aks maintenanceconfiguration add --name {AKS_CONFIG_NAME}) "
                          f"or set {SOURCE_SETTING}=settings")
    if not aks.get("window"):
        raise WindowError(f"cannot follow the cluster's {AKS_CONFIG_NAME}: {aks.get('error') or 'no maintenanceWindow'}")
    return Window.from_dict(aks["window"])


def window_from_dict(data: Mapping[str, Any]) -> Window | CronWindow:
    """Either kind of window back from its to_dict() form (orchestrator inputs)."""
    return CronWindow.from_dict(dict(data)) if data.get("kind") == "cron" else Window.from_dict(data)
