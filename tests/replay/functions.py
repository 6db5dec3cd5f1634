"""The app's functions, found the way the Functions worker finds them: ``app.get_functions()``.

``get_functions()`` builds the function objects and raises when called a second time on the
same app object, so the index is cached per app. ``load_app()`` executes function_app.py
afresh (a new DFApp with the same blueprints), so the driver sees exactly the wiring that
is deployed without consuming the ``function_app.app`` object other code may index.
"""

from __future__ import annotations

import runpy
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

_INDEX: weakref.WeakKeyDictionary[Any, AppFunctions] = weakref.WeakKeyDictionary()
_DEFAULT_APP: list[Any] = []


@dataclass
class AppFunctions:
    """The entry points the worker would call, by function name.

    Orchestrators and entities map to the SDK handles built by the DFApp decorators
    (``Orchestrator.create`` / ``Entity.create``): calling one with the trigger context is the
    production code path. Activities map to the user function and its trigger parameter name.
    """

    orchestrators: dict[str, Callable[[Any], str]] = field(default_factory=dict)
    entities: dict[str, Callable[[Any], str]] = field(default_factory=dict)
    activities: dict[str, tuple[Callable[..., Any], str]] = field(default_factory=dict)


def load_app() -> Any:
    """A fresh DFApp from function_app.py (one per process; callers may pass their own)."""
    if not _DEFAULT_APP:
        _DEFAULT_APP.append(runpy.run_path(str(REPO / "function_app.py"), run_name="function_app_replay")["app"])
    return _DEFAULT_APP[0]


def index(app: Any) -> AppFunctions:
    cached = _INDEX.get(app)
    if cached is not None:
        return cached
    found = AppFunctions()
    for function in app.get_functions():
        trigger = function.get_trigger()
        user = function.get_user_function()
        name = function.get_function_name()
        if trigger.type == "orchestrationTrigger":
            found.orchestrators[getattr(trigger, "orchestration", None) or name] = user
        elif trigger.type == "entityTrigger":
            found.entities[(getattr(trigger, "entity_name", None) or name).lower()] = user
        elif trigger.type == "activityTrigger":
            found.activities[getattr(trigger, "activity", None) or name] = (user, trigger.name)
    _INDEX[app] = found
    return found
