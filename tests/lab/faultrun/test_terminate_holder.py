"""Regression (soak --runs 200 --seed 1 on a loaded machine, seed 45, once): ``lock-ttl``, the
patch_node terminated mid-drain still held its lock slot after the TTL.

The terminated instance had not stopped: the local engine (durabletask's in-memory backend)
delivered the result of its in-flight drain activity after the termination and the SDK ran the
orchestrator again, so it rebooted the node, watched its health and renewed its slot with a
clock later than the check's snapshot. Azure discards messages for an instance that has ended
(Azure/durabletask, src/DurableTask.AzureStorage/AzureStorageOrchestrationService.cs,
IsExecutableInstanceAsync); lab/local/loopback.py now does too.

Load made it rare; the plan kept here makes it certain on the old engine: seed 45's plan with a
3 s reboot and 1 s health watches, so a running-on instance renews its slot (each watch ends
unhealthy) well after the snapshot. On the fixed engine the slot expires after its TTL and the
next cycle resumes the node, which is left cordoned mid-drain as on Azure."""

from __future__ import annotations

import pytest

from .conftest import RUN_TIMEOUT, run_kept_plan


@pytest.mark.timeout(RUN_TIMEOUT + 30)
def test_a_terminated_holder_stops_and_its_slot_expires_after_its_ttl():
    report = run_kept_plan("terminate_holder_slow_reboot.json")
    assert report.fired.get("terminateHolder") == 1, report.failure_text()
    assert any("mid-drain; lock holders then: ['" in note for note in report.notes), report.notes  # the TTL was checked
    assert report.violations == [], report.failure_text()
    assert [c["status"] for c in report.cycles] == ["Completed", "Completed"], report.cycles
    assert report.cycles[1]["results"] == {report.terminated: "patched"}, report.cycles  # the next cycle finished it
