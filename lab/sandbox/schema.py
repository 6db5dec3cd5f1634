"""Small typed readers for YAML documents that report the exact field path on error.

The scenario loader reads a nested mapping with these helpers. Each reader records a
message such as ``pools[1].count: expected an integer >= 1, got "three"`` in a shared
:class:`Errors` list and returns a fallback value, so one pass reports every problem at
once instead of stopping at the first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

MISSING: Any = object()


class ScenarioError(ValueError):
    """A scenario file is invalid; ``errors`` lists one message per bad field."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__("invalid scenario:\n  " + "\n  ".join(self.errors))


def describe(value: Any) -> str:
    """How a received value is shown in an error message (YAML-ish, strings quoted)."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


class Errors:
    """Collects messages; ``raise_if_any`` turns them into one ScenarioError."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, path: str, expected: str, value: Any = MISSING) -> None:
        if value is MISSING:
            self.messages.append(f"{path}: {expected}")
        else:
            self.messages.append(f"{path}: expected {expected}, got {describe(value)}")

    def raise_if_any(self) -> None:
        if self.messages:
            raise ScenarioError(self.messages)


class Reader:
    """A mapping at ``path``; typed getters validate one key each."""

    def __init__(self, errors: Errors, data: Any, path: str, allowed: Iterable[str]) -> None:
        self.errors = errors
        self.path = path
        self.data: dict[str, Any] = {}
        if data is None:
            return
        if not isinstance(data, dict):
            errors.add(path or "(top level)", "a mapping", data)
            return
        allowed = list(allowed)
        for key in data:
            if key not in allowed:
                errors.add(self.at(str(key)), f"unknown field (expected one of: {', '.join(allowed)})")
        self.data = data

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return key in self.data and self.data[key] is not None

    def raw(self, key: str, default: Any = None) -> Any:
        value = self.data.get(key)
        return default if value is None else value

    def _get(self, key: str, default: Any) -> Any:
        if key not in self.data or self.data[key] is None:
            if default is MISSING:
                self.errors.add(self.at(key), "required field is missing")
            return MISSING
        return self.data[key]

    def string(self, key: str, default: Any = MISSING, pattern: str | None = None,
               expected: str = "a string") -> Any:
        value = self._get(key, default)
        if value is MISSING:
            return default if default is not MISSING else ""
        if isinstance(value, (int, float)) and not isinstance(value, bool) and pattern is None:
            value = str(value)
        if not isinstance(value, str) or (pattern is not None and not re.fullmatch(pattern, value)):
            self.errors.add(self.at(key), expected, value)
            return default if default is not MISSING else ""
        return value

    def enum(self, key: str, choices: Iterable[str], default: Any = MISSING) -> Any:
        choices = list(choices)
        value = self._get(key, default)
        if value is MISSING:
            return default if default is not MISSING else choices[0]
        if value not in choices:
            self.errors.add(self.at(key), "one of " + ", ".join(choices), value)
            return default if default is not MISSING else choices[0]
        return value

    def integer(self, key: str, default: Any = MISSING, minimum: int | None = None,
                maximum: int | None = None) -> Any:
        value = self._get(key, default)
        if value is MISSING:
            return default if default is not MISSING else (minimum or 0)
        ok = isinstance(value, int) and not isinstance(value, bool)
        ok = ok and (minimum is None or value >= minimum) and (maximum is None or value <= maximum)
        if not ok:
            self.errors.add(self.at(key), _range_text("an integer", minimum, maximum), value)
            return default if default is not MISSING else (minimum or 0)
        return value

    def number(self, key: str, default: Any = MISSING, minimum: float | None = 0) -> Any:
        value = self._get(key, default)
        if value is MISSING:
            return default if default is not MISSING else (minimum or 0.0)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok or (minimum is not None and value < minimum):
            self.errors.add(self.at(key), _range_text("a number of seconds", minimum, None), value)
            return default if default is not MISSING else (minimum or 0.0)
        return float(value)

    def boolean(self, key: str, default: Any = MISSING) -> Any:
        value = self._get(key, default)
        if value is MISSING:
            return default if default is not MISSING else False
        if not isinstance(value, bool):
            self.errors.add(self.at(key), "true or false", value)
            return default if default is not MISSING else False
        return value

    def items(self, key: str, required: bool = False) -> list[tuple[str, Any]]:
        """A list field as (path, item) pairs; a missing optional list is empty."""
        value = self._get(key, MISSING if required else None)
        if value is MISSING:
            return []
        if not isinstance(value, list):
            self.errors.add(self.at(key), "a list", value)
            return []
        return [(f"{self.at(key)}[{i}]", item) for i, item in enumerate(value)]

    def strings(self, key: str, pattern: str | None = None, expected: str = "a string") -> list[str]:
        out = []
        for path, item in self.items(key):
            if isinstance(item, int) and not isinstance(item, bool):
                item = str(item)
            if not isinstance(item, str) or (pattern is not None and not re.fullmatch(pattern, str(item))):
                self.errors.add(path, expected, item)
                continue
            out.append(item)
        return out

    def string_map(self, key: str, key_check: Callable[[str], bool] | None = None,
                   expected_key: str = "a label key") -> dict[str, str]:
        value = self.data.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.errors.add(self.at(key), "a mapping of strings", value)
            return {}
        out = {}
        for k, v in value.items():
            if key_check is not None and not key_check(str(k)):
                self.errors.add(f"{self.at(key)}.{k}", expected_key, k)
                continue
            if isinstance(v, bool) or not isinstance(v, (str, int, float)):
                self.errors.add(f"{self.at(key)}.{k}", "a string", v)
                continue
            out[str(k)] = str(v)
        return out


def _range_text(kind: str, minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f"{kind} between {minimum} and {maximum}"
    if minimum is not None:
        return f"{kind} >= {minimum}"
    if maximum is not None:
        return f"{kind} <= {maximum}"
    return kind
