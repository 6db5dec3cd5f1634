"""The app's one vocabulary of outcomes: what happened to a node, to a cycle, and what a check said.

Every orchestrator, activity, HTTP view, notification and test uses these names. They are
``StrEnum`` members, so they compare equal to their strings and travel through JSON, durable
histories and logs as plain strings (``json.dumps(NodeResult.PATCHED) == '"patched"'``).

"Blocked" means one thing: *blockers* (an alert, a blocking pod, a PodDisruptionBudget that
allows no eviction now) outlasted ``REBOOTER_BLOCKER_TIMEOUT``; for a node that is
``NodeResult.BLOCKED`` (left untouched), for the whole cluster ``CycleOutcome.BLOCKED``. A drain
that can never finish is ``UNDRAINABLE`` (``Verdict.UNDRAINABLE`` before cordoning), and a pod
whose eviction a PDB refuses for now is ``PodEviction.REFUSED``.
"""

from __future__ import annotations

from enum import StrEnum


class NodeResult(StrEnum):
    """How one patch_node ended (``result`` in its summary, the progress entity and notifications)."""

    PATCHED = "patched"  # rebooted, healthy, back in service
    SKIPPED = "skipped"  # left alone: cordoned by someone else, or no room in the budget for too long
    BLOCKED = "blocked"  # left alone: its blockers outlasted REBOOTER_BLOCKER_TIMEOUT
    UNDRAINABLE = "undrainable"  # its drain cannot finish: our cordon undone (or never made)
    QUARANTINED = "quarantined"  # undrainable, kept cordoned and labelled (REBOOTER_UNDRAINABLE_POLICY)
    FAILED = "failed"  # rebooted but not healthy, or the reboot request failed: cordoned, lock kept
    ERROR = "error"  # a step failed (cordon, drain, uncordon, a lost child)
    CANCELLED = "cancelled"  # an operator cancelled it
    GONE = "gone"  # the node was deleted from the cluster during the cycle


# The annotation value (LAST_RESULT_ANNOTATION) of a patched node whose sentinel is back right away.
PATCHED_STILL_REQUIRED = "patched-still-required"

# Results that stop the rollout: something is wrong with a node we took out (failure policy).
# SKIPPED (left alone) and UNDRAINABLE (our cordon undone) let the next node go.
HALTING = frozenset({NodeResult.FAILED, NodeResult.ERROR})
# Results a notification reports as node_failed (the others are not a failure of the node).
NOTIFIED_AS_FAILED = frozenset({NodeResult.FAILED, NodeResult.ERROR, NodeResult.UNDRAINABLE})
# Results the timeline draws as failed, and as stopped.
SHOWN_AS_FAILED = frozenset({NodeResult.FAILED, NodeResult.ERROR, NodeResult.UNDRAINABLE,
                             NodeResult.QUARANTINED, NodeResult.BLOCKED})
SHOWN_AS_STOPPED = frozenset({NodeResult.CANCELLED, NodeResult.SKIPPED})
# Results logged at WARNING.
WARNED = frozenset({NodeResult.FAILED, NodeResult.ERROR, NodeResult.QUARANTINED})


class CycleOutcome(StrEnum):
    """How one patch_cycle ended (``outcome`` in its output; ``status`` in the progress entity)."""

    COMPLETED = "completed"
    HALTED = "halted"  # the failure policy stopped the rollout, or the window closed
    SKIPPED = "skipped"  # nothing to do now: paused, busy cluster, outside the window, no pool
    BLOCKED = "blocked"  # cluster-wide blockers outlasted REBOOTER_BLOCKER_TIMEOUT
    FAILED = "failed"  # a step failed before or outside the rollout (with the reason)
    CANCELLED = "cancelled"
    DRY_RUN = "dry-run"
    RUNNING = "running"  # recorded in the progress entity once the plan is made


CYCLE_WARNED = frozenset({CycleOutcome.FAILED, CycleOutcome.HALTED, CycleOutcome.BLOCKED})


class Verdict(StrEnum):
    """What a blocker check or drain prediction says about a node (preflight_node, check_blockers)."""

    OK = "ok"
    WAIT = "wait"  # something blocks now and may go away: retry on a timer
    UNDRAINABLE = "undrainable"  # the drain can never finish as things are: do not cordon


class PodEviction(StrEnum):
    """What one eviction or delete of a pod did (one drain pass)."""

    EVICTED = "evicted"
    DELETED = "deleted"
    GONE = "gone"
    REFUSED = "refused"  # 429: a PodDisruptionBudget refuses it now; the next pass retries
    TERMINATING = "terminating"
    ERROR = "error"
