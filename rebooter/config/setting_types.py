"""The value types of app settings: each parser reads the text of an app setting (or an override)
and returns the typed value, or raises ValueError saying what was expected. Every duration is
bounded by WEEK. rebooter.config.registry builds the settings table from these."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from rebooter.config import names
from rebooter.notifications import secrets as notify_secrets
from rebooter.policy import alerts, labelselector, window_parse

_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
WEEK = 7 * 24 * 3600  # the maximum of every duration: longer waits are mistakes, and 1e12 s overflows dates

def _int(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ValueError(f"expected an integer, got {raw!r}") from None
        if value < low or value > high:
            raise ValueError(f"expected an integer between {low} and {high}, got {value}")
        return value

    return parse


def _seconds(raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise ValueError(f"expected a number of seconds, got {raw!r}") from None
    if value < 0 or value != value or value == float("inf"):
        raise ValueError(f"expected a non-negative number of seconds, got {raw!r}")
    if value > WEEK:
        raise ValueError(f"expected at most {WEEK} seconds (a week), got {raw.strip()}")
    return value


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off", ""):
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {raw!r}")
        return value

    return parse


def _text(raw: str) -> str:
    return raw.strip()


def _url(raw: str) -> str:
    value = raw.strip().rstrip("/")
    if not value.startswith("https://"):
        raise ValueError(f"expected an https:// URL, got {notify_secrets.mask_url(raw)!r}")
    alerts.refuse_credentials(value)
    return value


def _selector(raw: str) -> str:
    """One Kubernetes label selector, checked now so a bad one never reaches a drain."""
    labelselector.parse(raw)
    return raw.strip()


def _labels(raw: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    for part in [p.strip() for p in raw.split(",") if p.strip()]:
        key, sep, value = part.partition("=")
        if not sep or not _LABEL_KEY.fullmatch(key) or not _LABEL_VALUE.fullmatch(value):
            raise ValueError(f"expected comma-separated key=value labels, got {part!r}")
        labels[key] = value
    return labels


def _scalar(value: Any) -> str:
    """A JSON override value as the text its parser reads; only strings, numbers and booleans."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float | str):
        return str(value)
    raise ValueError(f"expected a string, number or boolean, got {type(value).__name__}")


def _clusters(raw: str) -> list[str]:
    ids = [part for part in raw.replace(",", " ").split() if part]
    for cluster_id in ids:
        names.parse_cluster_id(cluster_id)
    return ids


def _ncrontab(raw: str) -> str:
    from croniter import croniter

    fields = raw.split()
    if len(fields) != 6 or not croniter.is_valid(" ".join(fields), second_at_beginning=True):
        raise ValueError(f"expected a 6-field NCRONTAB expression such as '0 0 * * * *', got {raw!r}")
    return " ".join(fields)


def _window_days(raw: str) -> list[str]:
    return [window_parse.DAY_NAMES[d] for d in window_parse.parse_days(raw)]


def _hhmm(raw: str) -> str:
    return f"{window_parse.parse_time(raw):%H:%M}"


def _time_zone(raw: str) -> str:
    window_parse.parse_zone(raw)
    return raw.strip()


def _dates(raw: str) -> list[str]:
    return [d.isoformat() for d in window_parse.parse_dates(raw)]
