"""The event catalogue and payload builders are pure (orchestrators import them) and turn
patch_node / patch_cycle results into the notify activity's payload deterministically."""

from __future__ import annotations

import ast
from pathlib import Path

from rebooter.notifications import events as notify_events
from rebooter.notifications import render as notify_render

ROOT = Path(__file__).resolve().parents[3]
# The same list as tests/orchestrators/test_static_determinism.py: what an orchestrator may not pull in.
FORBIDDEN = {"random", "uuid", "time", "os", "socket", "subprocess", "requests", "urllib", "http", "aiohttp",
             "kubernetes", "azure", "rebooter.arm.clients", "threading", "secrets", "asyncio", "apprise", "logging",
             "contextvars", "rebooter.notifications.send", "rebooter.notifications.secrets", "rebooter.notifications.settings"}


def test_notify_events_imports_nothing_an_orchestrator_may_not():
    tree = ast.parse((ROOT / "rebooter" / "notifications" / "events.py").read_text())
    imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in imported if any(m == bad or m.startswith(bad + ".") for bad in FORBIDDEN)]


def test_event_ids_are_derived_from_instance_event_and_node():
    assert notify_events.event_id("c1", "cycle_started") == "c1:cycle_started"
    assert notify_events.event_id("c1", "node_draining", "n1") == "c1:node_draining:n1"


def test_node_results_map_to_healthy_failed_or_nothing():
    assert notify_events.node_event_for("patched") == "node_healthy"
    for result in ("failed", "error", "undrainable"):
        assert notify_events.node_event_for(result) == "node_failed"
    assert notify_events.node_event_for("skipped") is None
    assert notify_events.node_result_payload({"result": "skipped", "node": "n"}, cluster="c", instance_id="i") is None


def test_node_result_payload_reads_patch_node_summary():
    summary = {"node": "n1", "pool": "p1", "result": "error", "reason": "uncordon failed",
               "steps": [{"step": "reboot"}, {"step": "uncordon"}], "seconds": 12.5,
               "before": {"bootId": "b1", "kernel": "k1"}, "lockKept": True}
    assert notify_events.node_result_payload(summary, cluster="C", instance_id="I") == {
        "event": "node_failed", "eventId": "I:node_failed:n1", "cluster": "C", "instanceId": "I", "node": "n1",
        "pool": "p1", "result": "error", "reason": "uncordon failed", "step": "uncordon", "seconds": 12.5,
        "bootIdBefore": "b1", "bootIdAfter": "", "kernelBefore": "k1", "kernelAfter": ""}


def test_cycle_payload_takes_cycle_status_counts():
    counts = {"total": 3, "patched": 2, "failed": 1, "skipped": 0, "upToDate": 5}
    payload = notify_events.cycle_payload("cycle_halted", cluster="C", instance_id="I", result="halted",
                                          reason="node n1 failed", counts=counts)
    assert payload == {"event": "cycle_halted", "eventId": "I:cycle_halted", "cluster": "C", "instanceId": "I",
                       "reason": "node n1 failed", "result": "halted", "step": "", "total": 3, "patched": 2,
                       "failed": 1, "skipped": 0}


def test_durations_read_like_a_human_wrote_them():
    assert [notify_render.format_duration(s) for s in (0, 12.4, 247.4, 3725, None, "x")] == [
        "0s", "12s", "4m 07s", "1h 02m", "", ""]
