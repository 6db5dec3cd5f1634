"""Checks of the Azure Monitor workbook (infra/app/rebooter-workbook.json) against the app's logs.

The workbook reads the app's structured log lines (rebooter/config/logs.py: one JSON object per line in
``traces.message``). Each query names the event it reads (``tostring(d.event) == "probe"``) and
reads every field through a typed conversion (``tostring(d.node)``, ``todouble(d.durationSeconds)``,
``tobool(d.rebootRequired)``...). So the fields a query needs, and their types, can be read off the
query and compared with real log lines: a renamed field fails here, not silently in the portal.

Workbook format: the gallery template document of Microsoft/Application-Insights-Workbooks
(schema/workbook.json): ``version`` "Notebook/1.0", ``items`` of type 1 (markdown text,
``content.json``), 3 (query, ``KqlItem/1.0``), 9 (parameters, ``KqlParameterItem/1.0``), 11 (links),
12 (group, ``NotebookGroup/1.0`` with its own ``items``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

WORKBOOK = Path(__file__).resolve().parents[1] / "app" / "rebooter-workbook.json"
ITEM_VERSIONS = {3: "KqlItem/1.0", 9: "KqlParameterItem/1.0", 11: "LinkItem/1.0", 12: "NotebookGroup/1.0"}
_TYPED = re.compile(r"\b(tostring|todouble|toreal|toint|tolong|tobool|todatetime)\(\s*d\.(\w+)\s*\)")
_ANY_FIELD = re.compile(r"\bd\.(\w+)")
_EVENT = re.compile(r'tostring\(d\.event\)\s*(?:==\s*"([^"]+)"|in\s*\(([^)]*)\))')


def load(path: Path = WORKBOOK) -> dict[str, Any]:
    return json.loads(path.read_text())


def _items(items: list[Any], where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for i, item in enumerate(items):
        yield f"{where}[{i}]", item
        if isinstance(item, dict) and item.get("type") == 12:
            yield from _items((item.get("content") or {}).get("items") or [], f"{where}[{i}].items")


def structure_problems(doc: Any) -> list[str]:
    """What makes the document not a workbook the portal can load."""
    if not isinstance(doc, dict):
        return ["the workbook must be a JSON object"]
    problems = []
    if doc.get("version") != "Notebook/1.0":
        problems.append(f"version must be Notebook/1.0, got {doc.get('version')!r}")
    if not isinstance(doc.get("items"), list) or not doc["items"]:
        return problems + ["items must be a non-empty list"]
    names = []
    for where, item in _items(doc["items"], "items"):
        if not isinstance(item, dict) or item.get("type") not in (1, 3, 9, 10, 11, 12):
            problems.append(f"{where}: type must be one of 1, 3, 9, 10, 11, 12")
            continue
        content = item.get("content")
        if not isinstance(content, dict):
            problems.append(f"{where}: content must be an object")
            continue
        names.append(item.get("name"))
        wanted = ITEM_VERSIONS.get(item["type"])
        if wanted and content.get("version") != wanted:
            problems.append(f"{where}: content.version must be {wanted}")
        if item["type"] == 1 and not isinstance(content.get("json"), str):
            problems.append(f"{where}: a text item needs content.json (markdown)")
        if item["type"] == 3 and not (isinstance(content.get("query"), str) and content["query"].strip()):
            problems.append(f"{where}: a query item needs content.query")
    if None in names or len(set(names)) != len(names):
        problems.append("every item needs a unique name")
    return problems


def queries(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(item.get("name", where), item["content"]["query"]) for where, item in _items(doc["items"], "items")
            if item.get("type") == 3]


def reads(query: str) -> tuple[set[str], dict[str, str]]:
    """The events a query reads and each field with its conversion; ValueError when a field is
    read untyped or the query names no event."""
    events: set[str] = set()
    for single, several in _EVENT.findall(query):
        events |= {single} if single else set(re.findall(r'"([^"]+)"', several))
    fields: dict[str, str] = {}
    for conversion, field in _TYPED.findall(query):
        if field != "event":
            if fields.get(field, conversion) != conversion:
                raise ValueError(f"field {field} is read as {fields[field]} and as {conversion}")
            fields[field] = conversion
    untyped = set(_ANY_FIELD.findall(query)) - set(fields) - {"event"}
    if untyped:
        raise ValueError(f"fields read without a typed conversion: {', '.join(sorted(untyped))}")
    if fields and not events:
        raise ValueError("the query reads fields but names no event (tostring(d.event) == ...)")
    return events, fields


def _type_ok(conversion: str, value: Any) -> bool:
    if conversion == "tostring":
        return isinstance(value, str)
    if conversion == "tobool":
        return isinstance(value, bool)
    if conversion in ("toint", "tolong"):
        return isinstance(value, int) and not isinstance(value, bool)
    if conversion in ("todouble", "toreal"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    try:
        datetime.fromisoformat(str(value))
        return True
    except ValueError:
        return False


def field_problems(doc: dict[str, Any], lines: list[dict[str, Any]]) -> list[str]:
    """Every field each query reads must be in every log line of the query's events, with a value
    of the type the query converts it to; and each event must occur in the lines at all."""
    problems = []
    for name, query in queries(doc):
        try:
            events, fields = reads(query)
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
            continue
        for event in sorted(events):
            seen = [line for line in lines if line.get("event") == event]
            if not seen:
                problems.append(f"{name}: no log line with event {event!r}")
                continue
            for field, conversion in sorted(fields.items()):
                missing = [line for line in seen if field not in line]
                if missing:
                    problems.append(f"{name}: event {event!r} has no field {field!r} ({len(missing)} of {len(seen)} "
                                    f"lines), e.g. {json.dumps(missing[0])[:300]}")
                    continue
                wrong = [line[field] for line in seen if not _type_ok(conversion, line[field])]
                if wrong:
                    problems.append(f"{name}: {event}.{field} is read with {conversion} but is {wrong[0]!r}")
    return problems
