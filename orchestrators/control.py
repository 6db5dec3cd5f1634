"""Operator commands reaching a running cycle: cancel, pause, resume, approve, reject.

They arrive as one durable external event, ``control``, with ``{"action", "by", "reason"}``
(the HTTP API raises it on the cycle and on its current patch_node instances). One waiter task
is kept per orchestration and reused in every wait, so an event is never swallowed by a
waiter left behind by an earlier wait; a command received while no wait is in progress is
buffered by the Durable runtime and seen at the next wait.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

EVENT = "control"
ACTIONS = ("cancel", "pause", "resume", "approve", "reject")


class Control:
    def __init__(self, context: Any) -> None:
        self.context = context
        self._waiter: Any = None
        self.cancel: dict[str, Any] | None = None
        self.paused: dict[str, Any] | None = None

    def snapshot(self) -> dict[str, Any]:
        """Commands already received, carried into a continued execution."""
        return {"cancel": self.cancel, "paused": self.paused}

    def restore(self, state: dict[str, Any]) -> None:
        self.cancel = state.get("cancel")
        self.paused = state.get("paused")

    def _pending(self) -> Any:
        if self._waiter is None:
            self._waiter = self.context.wait_for_external_event(EVENT)
        return self._waiter

    def _take(self):
        """The command the waiter received; a new waiter is made for the next one."""
        command = yield self._waiter
        self._waiter = None
        command = command if isinstance(command, dict) else {"action": str(command)}
        if command.get("action") == "cancel":
            self.cancel = command
        elif command.get("action") == "pause":
            self.paused = command
        elif command.get("action") == "resume":
            self.paused = None
        return command

    def wait(self, seconds: float):
        """Wait ``seconds`` on a durable timer unless a command comes first; return it or None."""
        timer = self.context.create_timer(self.context.current_utc_datetime + timedelta(seconds=seconds))
        winner = yield self.context.task_any([timer, self._pending()])
        if winner is timer:
            return None
        return (yield from self._take())

    def wait_for(self, task: Any):
        """Wait for ``task`` (e.g. the current nodes), noting commands that arrive meanwhile."""
        while True:
            winner = yield self.context.task_any([task, self._pending()])
            if winner is task:
                return (yield task)
            yield from self._take()

    def hold_while_paused(self):
        """Between nodes: while paused, wait (no timer: a pause lasts until resume or cancel)."""
        while self.paused and not self.cancel:
            self._pending()
            yield from self._take()
