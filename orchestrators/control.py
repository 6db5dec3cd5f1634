"""Operator commands reaching a running cycle: cancel, pause, resume, approve, reject.

They arrive as one durable external event, ``control``, with ``{"action", "by", "reason"}``
(the HTTP API raises it on the cycle and on its current patch_node instances). One waiter task
is kept per orchestration and reused in every wait, so an event is never swallowed by a
waiter left behind by an earlier wait; a command received while no wait is in progress is
buffered by the Durable runtime and seen at the next wait.

Every command is answered in ``log`` (applied, or ignored with the reason), which travels with
the cycle through continue-as-new and ends in its summary. ``drain`` reads the commands that
already arrived before the cycle starts a wave or continues as new, so none is left behind in an
execution's history (continue-as-new drops unread events).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from orchestrators.context import OrchestrationContext

EVENT = "control"
ACTIONS = ("cancel", "pause", "resume", "approve", "reject")


class Control:
    def __init__(self, context: OrchestrationContext) -> None:
        self.context = context
        self._waiter: Any = None
        self._registered = False  # the waiter was yielded once (the classic SDK knows it only then)
        self.cancel: dict[str, Any] | None = None
        self.paused: dict[str, Any] | None = None
        self.awaiting_approval = False
        self.log: list[dict[str, Any]] = []

    def snapshot(self) -> dict[str, Any]:
        """Commands already received, carried into a continued execution."""
        return {"cancel": self.cancel, "paused": self.paused, "log": self.log}

    def restore(self, state: dict[str, Any]) -> None:
        self.cancel = state.get("cancel")
        self.paused = state.get("paused")
        self.log = list(state.get("log") or [])

    def _pending(self) -> Any:
        if self._waiter is None:
            self._waiter = self.context.wait_for_external_event(EVENT)
            self._registered = False
        return self._waiter

    def _take(self):
        """The command the waiter received; a new waiter is made for the next one."""
        command = yield self._waiter
        self._waiter = None
        return self._apply(command)

    def _apply(self, command: Any) -> dict[str, Any]:
        """Apply one command and answer it in the log, once: a command with an id already answered
        (the same command read from the mailbox and as an event) is not applied again."""
        command = command if isinstance(command, dict) else {"action": str(command)}
        if command.get("id") and any(entry.get("id") == command["id"] for entry in self.log):
            return command
        action = command.get("action")
        answer = "applied"
        if action == "cancel":
            answer = "applied" if not self.cancel else "ignored: already cancelled"
            self.cancel = self.cancel or command
        elif action == "pause":
            answer = "ignored: cancelled" if self.cancel else "applied"
            self.paused = None if self.cancel else command
        elif action == "resume":
            answer = "applied" if self.paused else "ignored: not paused"
            self.paused = None
        elif action in ("approve", "reject"):
            answer = "applied" if self.awaiting_approval else "ignored: no approval was pending"
        else:
            answer = f"ignored: unknown action (expected one of {', '.join(ACTIONS)})"
        entry = {"action": str(action), "by": str(command.get("by") or "operator"),
                 "at": self.context.current_utc_datetime.isoformat(), "answer": answer}
        if command.get("id"):
            entry["id"] = str(command["id"])
        self.log.append(entry)
        return command

    def read_mailbox(self, mailbox: Any, since: str):
        """Commands the starter also wrote to the cluster's progress entity (``mailbox``) and this
        cycle has not answered: read at the start of a continued execution, they are the events
        the previous execution's continue-as-new dropped (one that arrived in the very episode in
        which the check before continue-as-new fired). Each carries an id, so a command also
        received as an event is applied once. A mailbox that cannot be read leaves the events."""
        try:
            commands = yield self.context.call_entity(mailbox, "take_commands",
                                                      {"instanceId": self.context.instance_id, "since": since})
        except Exception:  # noqa: BLE001 - the events still come; the mailbox is the safety net
            return
        for command in commands if isinstance(commands, list) else []:
            if isinstance(command, dict) and command.get("action") in ACTIONS:
                self._apply(command)

    def arm(self):
        """Open the waiter before any command can arrive (first thing in an execution).

        The classic SDK keeps an event that arrives while no waiter is open as a "deferred" result
        that every later waiter of that name receives again, and keeps only the last such event
        (azure-functions-durable 1.x, TaskOrchestrationExecutor.set_task_value): so a waiter is
        kept open from the start, and a new one is opened as soon as one is consumed. That SDK
        registers a task only when it is yielded, so the waiter is yielded with a zero-length
        timer here (one episode); ``alongside`` registers it with the first real task instead."""
        yield from self.drain()

    def alongside(self, task: Any):
        """Await ``task``; the first time, with the command waiter beside it (``task_any``), which
        registers the waiter at no extra episode (see ``arm``). A command that wins is applied,
        then ``task`` is awaited as usual (already scheduled: nothing new is scheduled)."""
        if not self._registered:
            winner = yield self.context.task_any([task, self._pending()])
            self._registered = True
            if winner is not task:  # read it, and any other, leaving a registered waiter open
                yield from self.drain()
        return (yield task)

    def catch_up(self):
        """Read the commands that arrived while the orchestrator awaited something else, before
        it decides what to do next. Free when none did (``arrived`` looks without yielding)."""
        if self.arrived():
            yield from self.drain()

    def drain(self):
        """Read every command that already arrived (a zero-length durable timer races the waiter:
        a command already received wins at once); the losing timer is cancelled. Leaves a waiter
        open for the next command."""
        for _ in range(50):  # a bound only: commands come from people
            command = yield from self._wait(0)
            if command is None:
                return

    def _wait(self, seconds: float):
        timer = self.context.create_timer(self.context.current_utc_datetime + timedelta(seconds=seconds))
        winner = yield self.context.task_any([timer, self._pending()])
        self._registered = True
        if winner is timer:
            return None
        cancel_timer(timer)
        return (yield from self._take())

    def wait(self, seconds: float):
        """Wait ``seconds`` on a durable timer unless a command comes first; return it or None.
        After a command, any other command already received is read too and a waiter reopened."""
        command = yield from self._wait(seconds)
        if command is not None:
            yield from self.drain()
        return command

    def arrived(self) -> bool:
        """A command already received: the SDK settles the waiter while it walks the history, so
        an event that came during the activity just awaited is settled before it. Reading it then
        (``drain``) costs a durable timer only when one did arrive."""
        waiter = self._waiter
        if waiter is None or not self._registered:
            return False
        done = getattr(waiter, "is_completed", None)  # azure-functions-durable's TaskBase
        return bool(getattr(waiter, "is_complete", False) if done is None else done)  # durabletask's Task

    def hold_while_paused(self):
        """Between nodes: while paused, wait (no timer: a pause lasts until resume or cancel)."""
        while self.paused and not self.cancel:
            self._pending()
            yield from self._take()
            yield from self.drain()


def cancel_timer(timer: Any) -> None:
    """Cancel a durable timer that lost a task_any. Durable keeps an orchestration Running until
    every timer it created has fired or been cancelled, even after its function returned
    (Microsoft Learn, "Timers in Durable Functions": the human-interaction sample cancels the
    timer that lost), so a timer left behind holds a rejected cycle (and its 409) for the whole
    approval timeout. The classic SDK raises ValueError for a timer already completed."""
    try:
        timer.cancel()
    except ValueError:
        pass
