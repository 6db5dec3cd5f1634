"""The entities blueprint: thin shells around the pure reducers in lock.py and progress.py."""

from __future__ import annotations

import azure.durable_functions as df

from entities import lock, progress

bp = df.Blueprint()


def _run(context: df.DurableEntityContext, reducer, initial) -> None:
    state = context.get_state(initial)
    new_state, result = reducer(state, context.operation_name, context.get_input())
    context.set_state(new_state)
    context.set_result(result)


@bp.entity_trigger(context_name="context")
def cluster_lock(context: df.DurableEntityContext) -> None:
    _run(context, lock.reduce, lock.initial)


@bp.entity_trigger(context_name="context")
def cluster_progress(context: df.DurableEntityContext) -> None:
    _run(context, progress.reduce, progress.initial)
