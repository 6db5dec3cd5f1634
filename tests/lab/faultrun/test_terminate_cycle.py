"""Regression (issue 11, soak seed 96 before the kinds were renumbered): terminating patch_cycle
(the operator's rollback step) left its running patch_node behind, because Durable does not
terminate sub-orchestrations with their parent. The orphan went on, quarantined its node and
left it cordoned by us in no cycle's summary (``left-cordoned``). The rollback is now the app's
admin route ``POST /api/patch-cycles/{id}/terminate`` (starters/commands.py), which terminates
the cycle and then every patch_node of it still running; the next cycle resumes their nodes.

The plan is kept verbatim (plans/terminate_cycle_orphan.json: budget 3, quarantine policy, the
controller stalled so drains hang, the cycle terminated while its nodes drain): the runner's
terminateAtStep fault with target ``cycle`` uses the route (lab/faultrun/operator.py)."""

from __future__ import annotations

import pytest

from .conftest import RUN_TIMEOUT, run_kept_plan


@pytest.mark.timeout(RUN_TIMEOUT + 30)
def test_terminating_a_cycle_terminates_its_patch_nodes_and_every_node_is_reported():
    report = run_kept_plan("terminate_cycle_orphan.json")
    assert report.fired.get("terminateAtStep") == 1, report.failure_text()
    assert any("through the app's route" in note and "at drain" in note for note in report.notes), report.notes
    assert report.violations == [], report.failure_text()
    assert [c["status"] for c in report.cycles] == ["Terminated", "Completed"], report.cycles
