"""Run the Durable Functions app with no Functions host.

The app's own orchestrator, activity, entity and starter functions run unchanged on
durabletask's in-memory backend (a real replaying engine), bound to 127.0.0.1 only.
``LocalEngine`` owns the backend, the worker, the durable HTTP API the classic client
talks to, and the timer schedules; ``LocalEngine.serve_http`` adds the HTTP front that
``func start`` would give (``/api/...`` and the status webhooks).
"""

from lab.local.engine import LocalEngine, OrchestrationNonDeterminismError

__all__ = ["LocalEngine", "OrchestrationNonDeterminismError"]
