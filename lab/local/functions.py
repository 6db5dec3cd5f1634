"""What the DFApp declares, read once per app object.

``app.get_functions()`` builds the functions and raises when called a second time on
the same app, so the index is cached per app (several engines may run one app in
turn, e.g. one per test). The user code sits where azure-functions-durable's decorators put it
(Azure/azure-functions-durable-python, azure/durable_functions/decorators/durable_app.py):
orchestrators ``get_user_function().orchestrator_function``, entities
``.entity_function``, activities ``get_user_function()`` with its trigger parameter,
starters ``get_user_function()`` (the client middleware that builds the classic client
from the binding JSON).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

_CACHE: weakref.WeakKeyDictionary[Any, FunctionIndex] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Starter:
    """An HTTP- or timer-triggered function (typically a durable client starter)."""

    name: str
    kind: str  # "http" or "timer"
    trigger: Any
    call: Callable[..., Any]
    trigger_param: str
    client_param: str | None  # the durableClient binding, if any


@dataclass
class FunctionIndex:
    orchestrators: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    activities: dict[str, tuple[Callable[..., Any], str]] = field(default_factory=dict)
    entities: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    starters: dict[str, Starter] = field(default_factory=dict)
    unsupported: list[str] = field(default_factory=list)

    @property
    def http_starters(self) -> list[Starter]:
        return [s for s in self.starters.values() if s.kind == "http"]

    @property
    def timer_starters(self) -> list[Starter]:
        return [s for s in self.starters.values() if s.kind == "timer"]


def index_app(app: Any) -> FunctionIndex:
    """The app's functions by kind (``app.get_functions()`` is called once per app object).

    Each caller gets its own copy of the tables, so an engine that swaps a function (a test's
    fake, a benchmark's counter) never changes what the next engine on the same app runs.
    """
    cached = _CACHE.get(app)
    if cached is None:
        cached = _build(app.get_functions())
        _CACHE[app] = cached
    return FunctionIndex(orchestrators=dict(cached.orchestrators), activities=dict(cached.activities),
                         entities=dict(cached.entities), starters=dict(cached.starters),
                         unsupported=list(cached.unsupported))


def _names(function: Any, alias: str | None) -> list[str]:
    name = function.get_function_name()
    return [name] if not alias or alias == name else [name, alias]


def _build(functions: list[Any]) -> FunctionIndex:
    index = FunctionIndex()
    for function in functions:
        trigger = function.get_trigger()
        user = function.get_user_function()
        name = function.get_function_name()
        kind = trigger.type
        if kind == "orchestrationTrigger":
            for alias in _names(function, getattr(trigger, "orchestration", None)):
                index.orchestrators[alias] = user.orchestrator_function
        elif kind == "activityTrigger":
            for alias in _names(function, getattr(trigger, "activity", None)):
                index.activities[alias] = (user, trigger.name)
        elif kind == "entityTrigger":
            entity_name = getattr(trigger, "entity_name", None) or name
            index.entities[entity_name.lower()] = user.entity_function
        elif kind in ("httpTrigger", "timerTrigger"):
            clients = [b.name for b in function.get_bindings() if b.type == "durableClient"]
            index.starters[name] = Starter(
                name=name,
                kind="http" if kind == "httpTrigger" else "timer",
                trigger=trigger,
                call=user,
                trigger_param=trigger.name,
                client_param=clients[0] if clients else None,
            )
        else:
            index.unsupported.append(f"{name} ({kind})")
            log.warning("function %s has a %s trigger, which the local runner does not serve", name, kind)
    return index
