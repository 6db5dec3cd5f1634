"""function_app.py registers every function with the trigger and bindings Azure expects."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

EXPECTED = {
    "patch_cycle": {("orchestrationTrigger", "context")},
    "patch_node": {("orchestrationTrigger", "context")},
    "describe_cluster": {("activityTrigger", "payload")},
    "probe_pool": {("activityTrigger", "payload")},
    "fetch_probe_result": {("activityTrigger", "payload")},
    "list_nodes": {("activityTrigger", "payload")},
    "preflight_node": {("activityTrigger", "payload")},
    "check_blockers": {("activityTrigger", "payload")},
    "read_aks_maintenance_window": {("activityTrigger", "payload")},
    "mark_node": {("activityTrigger", "payload")},
    "notify": {("activityTrigger", "payload")},
    "cordon_node": {("activityTrigger", "payload")},
    "uncordon_node": {("activityTrigger", "payload")},
    "finish_node": {("activityTrigger", "payload")},
    "drain_node": {("activityTrigger", "payload")},
    "reboot_node": {("activityTrigger", "payload")},
    "check_node_health": {("activityTrigger", "payload")},
    "set_pending_taint": {("activityTrigger", "payload")},
    "cluster_lock": {("entityTrigger", "context")},
    "cluster_progress": {("entityTrigger", "context")},
    "scheduled_patch_cycles": {("durableClient", "client"), ("timerTrigger", "timer")},
    "start_patch_cycle": {("durableClient", "client"), ("httpTrigger", "req"), ("http", "$return")},
    "start_patch_cycle_unrestricted": {("durableClient", "client"), ("httpTrigger", "req"), ("http", "$return")},
    "get_patch_cycle": {("durableClient", "client"), ("httpTrigger", "req"), ("http", "$return")},
    "list_patch_cycles": {("durableClient", "client"), ("httpTrigger", "req"), ("http", "$return")},
    "command_patch_cycle": {("durableClient", "client"), ("httpTrigger", "req"), ("http", "$return")},
    "terminate_patch_cycle": {("durableClient", "client"), ("httpTrigger", "req"), ("http", "$return")},
    "get_cluster_lock": {("durableClient", "client"), ("httpTrigger", "req"), ("http", "$return")},
    "break_cluster_lock": {("durableClient", "client"), ("httpTrigger", "req"), ("http", "$return")},
    "get_cluster_progress": {("durableClient", "client"), ("httpTrigger", "req"), ("http", "$return")},
    "get_openapi": {("httpTrigger", "req"), ("http", "$return")},
    "get_patch_cycle_timeline": {("durableClient", "client"), ("httpTrigger", "req"), ("http", "$return")},
    "list_clusters": {("durableClient", "client"), ("httpTrigger", "req"), ("http", "$return")},
}

# A fresh interpreter: get_functions() may be called only once per app object.
SCRIPT = """
import json, function_app
out = {}
for f in function_app.app.get_functions():
    out[f.get_function_name()] = [{"type": b.type, "name": b.name, **{k: v for k, v in b.get_dict_repr().items()
                                   if k in ("schedule", "route", "methods", "authLevel")}} for b in f.get_bindings()]
print(json.dumps(out, default=lambda v: getattr(v, "value", str(v))))
"""


def functions():
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_every_function_has_its_trigger_and_bindings():
    found = functions()
    assert set(found) == set(EXPECTED)
    for name, bindings in found.items():
        assert {(b["type"], b["name"]) for b in bindings} == EXPECTED[name], name


def test_the_deploy_guide_states_the_function_count():
    kinds = [next(b["type"] for b in bindings if b["type"].endswith("Trigger")) for bindings in functions().values()]
    counts = {kind: kinds.count(kind) for kind in set(kinds)}
    stated = (f"indexes: {len(kinds)} ({counts['httpTrigger']} HTTP, {counts['timerTrigger']} timer, "
              f"{counts['orchestrationTrigger']} orchestrators, {counts['entityTrigger']} entities, "
              f"{counts['activityTrigger']} activities;")
    assert stated in " ".join((ROOT / "docs" / "deploy.md").read_text().split())


def test_timer_schedule_is_an_app_setting_and_routes_are_as_documented():
    found = functions()
    timer = next(b for b in found["scheduled_patch_cycles"] if b["type"] == "timerTrigger")
    assert timer["schedule"] == "%REBOOTER_SCHEDULE%"
    start = next(b for b in found["start_patch_cycle"] if b["type"] == "httpTrigger")
    status = next(b for b in found["get_patch_cycle"] if b["type"] == "httpTrigger")
    assert start["route"] == "patch-cycles" and [m.upper() for m in start["methods"]] == ["POST"]
    assert status["route"] == "patch-cycles/{instanceId}" and [m.upper() for m in status["methods"]] == ["GET"]
    assert start["authLevel"].upper() == "FUNCTION"
    brk = next(b for b in found["break_cluster_lock"] if b["type"] == "httpTrigger")
    assert brk["authLevel"].upper() == "ADMIN", "breaking the lock needs the admin key"
    unrestricted = next(b for b in found["start_patch_cycle_unrestricted"] if b["type"] == "httpTrigger")
    assert unrestricted["authLevel"].upper() == "ADMIN", "loosening overrides need the admin key"
    assert unrestricted["route"] == "patch-cycles/unrestricted"
    terminate = next(b for b in found["terminate_patch_cycle"] if b["type"] == "httpTrigger")
    assert terminate["authLevel"].upper() == "ADMIN", "terminating a cycle and its patch_node instances needs the admin key"
    assert terminate["route"] == "patch-cycles/{instanceId}/terminate"
    routes = [b["route"] for bindings in found.values() for b in bindings if b.get("route")]
    assert not [r for r in routes if r.lower().startswith("admin")], "the host refuses routes starting with admin"


def test_the_entity_names_and_runtime_statuses_have_one_home():
    from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus

    from orchestrators import durable

    entities = {name for name, bindings in functions().items() if any(b["type"] == "entityTrigger" for b in bindings)}
    assert entities == {durable.LOCK_ENTITY, durable.PROGRESS_ENTITY}
    assert set(durable.RUNTIME_STATUSES) == {s.value for s in OrchestrationRuntimeStatus}
    assert durable.ACTIVE_STATUSES | durable.ENDED_STATUSES == set(durable.RUNTIME_STATUSES)
    assert not durable.ACTIVE_STATUSES & durable.ENDED_STATUSES
    assert "ContinuedAsNew" in durable.ACTIVE_STATUSES and durable.RUNNING_STATUSES < durable.ACTIVE_STATUSES
