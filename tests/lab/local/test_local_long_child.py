"""A sub-orchestration that outlives durabletask's 30 s watcher still completes its parent.

durabletask 1.12.0's in-memory backend watches a child with ``_wait_for_state(timeout=None)``
and turns that into a 30 s wait: a child running longer is completed but its parent never
hears of it (lab/local/loopback.py). The literal 30.0 cannot be patched, so these tests shrink the
"no deadline" wait instead: ``short_watch`` makes durabletask's own wait last ``SLICE`` seconds
when asked for no timeout, exactly as the literal does at 30 s. A child whose durable timer
lasts several slices then reproduces the bug on the plain backend and passes with the fix.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func
import pytest
from durabletask.client import OrchestrationStatus
from durabletask.testing import InMemoryOrchestrationBackend

from lab.local import LocalEngine
from lab.local.loopback import LoopbackBackend

SLICE = 0.3  # stands for durabletask's 30 s
CHILD_SECONDS = 2.0  # the child's durable timer: several slices long

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def long_parent(context: df.DurableOrchestrationContext):
    child_id = f"{context.instance_id}-node"
    result = yield context.call_sub_orchestrator("long_child", context.get_input(), child_id)
    return {"child": result}


@app.orchestration_trigger(context_name="context")
def long_child(context: df.DurableOrchestrationContext):
    seconds = context.get_input()["seconds"]
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=seconds))
    return f"waited {seconds}s"


@pytest.fixture
def short_watch(monkeypatch: pytest.MonkeyPatch) -> None:
    """durabletask's "no timeout" wait, shrunk from 30 s to SLICE (everything else unchanged)."""
    original = InMemoryOrchestrationBackend._wait_for_state

    def shrunk(self, instance_id, predicate, timeout):
        return original(self, instance_id, predicate, SLICE if not timeout else timeout)

    monkeypatch.setattr(InMemoryOrchestrationBackend, "_wait_for_state", shrunk)
    monkeypatch.setattr(LoopbackBackend, "NO_DEADLINE_SLICE_SECONDS", SLICE)


@pytest.fixture
def engine():
    eng = LocalEngine(app).start()
    yield eng
    eng.stop()


def _start(engine: LocalEngine) -> str:
    instance_id = f"long-{uuid.uuid4().hex[:8]}"
    engine.client.schedule_new_orchestration("long_parent", input={"seconds": CHILD_SECONDS}, instance_id=instance_id)
    return instance_id


def test_parent_completes_when_its_child_outlives_the_watch(short_watch: None, engine: LocalEngine) -> None:
    instance_id = _start(engine)
    state = engine.wait_for_completion(instance_id, timeout=60)
    assert state.runtime_status == OrchestrationStatus.COMPLETED, state.failure_details
    assert state.get_output() == {"child": f"waited {CHILD_SECONDS}s"}


def test_without_the_fix_the_completion_is_lost(short_watch: None, engine: LocalEngine,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The same run on durabletask's own wait: the child completes, the parent never does."""
    monkeypatch.setattr(LoopbackBackend, "_wait_for_state", InMemoryOrchestrationBackend._wait_for_state)
    instance_id = _start(engine)
    child = engine.wait_for_completion(f"{instance_id}-node", timeout=60)
    assert child.runtime_status == OrchestrationStatus.COMPLETED
    # The watcher gave up after SLICE, long before the child finished: nothing will ever
    # deliver the completion, however long we wait.
    with pytest.raises(TimeoutError):
        engine.client.wait_for_orchestration_completion(instance_id, timeout=3)
    assert engine.client.get_orchestration_state(instance_id).runtime_status == OrchestrationStatus.RUNNING


def test_a_caller_deadline_is_still_a_deadline(engine: LocalEngine) -> None:
    """A client wait with a deadline ends at the deadline (it is not turned into "forever")."""
    instance_id = _start(engine)
    with pytest.raises(TimeoutError):
        engine.client.wait_for_orchestration_completion(instance_id, timeout=0.5)
    assert engine.wait_for_completion(instance_id, timeout=60).runtime_status == OrchestrationStatus.COMPLETED
