"""Known app bugs the fault runs find, each with the symptom it leaves in a report.

The owners of the app's folders fix them; until then a violation matching one of these is
reported as known (the seeded test is marked xfail with the bug's text) while any other
violation in the same run still fails. Each entry: where the bug is, what happens, the fix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class KnownIssue:
    id: str
    where: str
    what: str
    fix: str
    matches: Callable[[dict[str, Any], Any], bool]  # (violation, report) -> bool

    def text(self) -> str:
        return f"{self.id} ({self.where}): {self.what} Proposed fix: {self.fix}"


KNOWN: tuple[KnownIssue, ...] = (
    KnownIssue(
        id="probe-drops-nodes",
        where="rebooter/probe.py RUNNER_SCRIPT and parse_result",
        what=("when the probe's final `kubectl get pods ... | while read` fails (an API 5xx or timeout), the "
              "pipeline's status is ignored and the script exits 0 with no line for the pool's nodes; "
              "parse_result returns no facts and no errors, so the nodes that need a reboot vanish from the "
              "cycle (not planned, not skipped, not upToDate) and the cycle says completed."),
        fix=("fail the script when that kubectl fails (e.g. capture its output and `|| exit 5`), and in "
             "parse_result or plan.plan_nodes report every node of a probed pool that got no fact and no "
             "error as skipped (\"the probe returned nothing for this node\")."),
        matches=lambda v, r: v["check"] == "unaccounted" and v.get("inOutput") is False
        and not any(x["check"] == "crash" for x in r.violations),
    ),
    KnownIssue(
        id="start-race",
        where="starters/cycles.py start_cycle",
        what=("two starts for one cluster at the same moment (timer and HTTP) both pass the `running()` check; "
              "the second `client.start_new` raises \"instance ... already exists\", so the HTTP caller gets a "
              "500 instead of a 409 (or the timer function fails)."),
        fix=("catch the start_new failure, re-read the instance's status and, when it is running, answer 409 "
             "(timer: log 'already running' and go on)."),
        matches=lambda v, r: v["check"] == "start-race",
    ),
    KnownIssue(
        id="terminated-child-crashes-cycle",
        where="orchestrators/patch_cycle.py _patch_nodes (the task_all over patch_node sub-orchestrations)",
        what=("a patch_node that is terminated (or fails) makes task_all raise, so patch_cycle itself fails with "
              "no summary: the node it left cordoned is not in any nodes[] with cordoned: true, and when the next "
              "cycle cannot plan it (e.g. its probe fails because no schedulable node is left for the "
              "run-command pod) the node stays cordoned by us, unreported."),
        fix=("wrap each child (or the task_all) in try/except and turn a failed or terminated child into a node "
             "result {result: 'error', reason: 'patch_node ended: <error>', cordoned: true, lockKept: <unknown>} "
             "so the cycle still returns its summary; and let plan.plan_nodes list nodes cordonedByUs that it "
             "does not plan as skipped with that reason."),
        matches=lambda v, r: v["check"] == "left-cordoned" and _terminated_node(v, r) and not v.get("upToDate"),
    ),
    KnownIssue(
        id="probe-activity-failure-crashes-cycle",
        where="orchestrators/patch_cycle.py _probe_pools (call_activity of probe_pool / fetch_probe_result)",
        what=("the probe activities report their own errors as data, but a failure of the activity itself "
              "(the worker lost, an exception outside their try, a completion that never arrives) is neither "
              "retried (plain call_activity) nor caught around task_all: patch_cycle fails at once with no "
              "summary and every node that needed a reboot goes unreported."),
        fix=("use call_activity_with_retry for both and wrap each task_all in try/except: a failed submit "
             "counts as a submit error (resubmitted once, then the pool is reported), a failed poll as a "
             "transient 'error' polled again until the probe deadline."),
        matches=lambda v, r: (v["check"] == "crash" and _probe_activity_failed(v))
        or (v["check"] == "unaccounted" and any(_probe_activity_failed(x) for x in r.violations)),
    ),
    KnownIssue(
        id="interrupted-reboot-left-cordoned",
        where="rebooter/plan.py plan_nodes (with orchestrators/patch_node.py resume)",
        what=("a patch_node stopped after its reboot request (terminated, or its host lost) leaves the node "
              "cordoned by us; the next cycle's probe finds no sentinel, lists the node in upToDate and never "
              "uncordons it: only nodes that still need a reboot are resumed."),
        fix=("in plan_nodes, plan a node that is cordonedByUs but up to date as a resume whose patch_node skips "
             "to 'wait healthy' then uncordons (or report it in skipped with 'cordoned by us in an interrupted "
             "cycle')."),
        matches=lambda v, r: v["check"] == "left-cordoned" and _terminated_node(v, r) and bool(v.get("upToDate")),
    ),
)


def _terminated_node(violation: dict[str, Any], report: Any) -> bool:
    return bool(report.terminated) and violation.get("node", "").endswith(report.terminated)


def _probe_activity_failed(violation: dict[str, Any]) -> bool:
    return violation["check"] == "crash" and any(f"'{name}' failed" in violation["detail"]
                                                 for name in ("fetch_probe_result", "probe_pool"))


def classify(report: Any) -> tuple[list[dict[str, Any]], dict[str, KnownIssue]]:
    """(violations no known issue explains, known issues hit) of a report."""
    unknown: list[dict[str, Any]] = []
    hit: dict[str, KnownIssue] = {}
    for violation in report.violations:
        issue = next((k for k in KNOWN if k.matches(violation, report)), None)
        if issue is None:
            unknown.append(violation)
        else:
            hit[issue.id] = issue
    return unknown, hit
