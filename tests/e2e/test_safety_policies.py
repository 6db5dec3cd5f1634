"""One sandbox scenario per safety policy, judged on the recorded timeline (what happened to
nodes and pods), not only on what the API returned."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from durabletask.entities import EntityInstanceId

from lab.sandbox import invariants
from rebooter.config import names
from rebooter.contract import QUARANTINE_LABEL
from rebooter.policy.cronwindow import CronWindow


def scenario(name, nodes, pools=None, workloads=None, timings=None, faults=None):
    return {
        "name": name,
        "cluster": {"resourceGroup": f"rg-{name}", "name": f"aks-{name}"},
        "pools": pools or [{"name": "system", "mode": "System", "count": 1}, {"name": "user", "count": 3}],
        "nodes": nodes,
        "workloads": workloads or {"deployments": [{"name": "web", "replicas": 2, "pools": ["user"],
                                                    "pdb": {"maxUnavailable": 1}}]},
        "timings": {"rebootSeconds": 0.3, "podStartSeconds": 0.1, "podTerminationSeconds": 0.1,
                    "recreateDelaySeconds": 0.2, **(timings or {})},
        "faults": faults or [],
    }


def needs(*names_):
    return [{"node": n, "rebootRequired": True} for n in names_]


def node(stack, short: str) -> str:
    """The real node name of "pool/index" in the scenario."""
    pool, index = short.split("/")
    return stack.sandbox.scenario.nodes_of(pool)[int(index)].name


def cordons_by_app(timeline):
    """Moments the app cordoned a node: (wall time, node)."""
    return [(e.wall, e["node"]) for e in timeline.events("node")
            if e.get("changes", {}).get("unschedulable", [None, None])[1] is True and e.get("actor") != "scenario"]


def run(stack, **body):
    response = stack.api.start({"cluster": stack.sandbox.cluster_resource_id, **body})
    assert response.status_code == 202, response.text
    return stack.api.wait(response.json()["id"], timeout=180)


def results(status):
    return {n["node"]: n for n in status["output"]["nodes"]}


@pytest.mark.timeout(400)
def test_window_closes_mid_cycle_and_the_rest_resumes_at_the_next_opening(stack_for):
    """Open 5 s every 15 s, with a soak (6 s) longer than an opening: the window closes between
    nodes whatever the machine's speed, so the rest must wait for later openings. The cycle must
    begin inside an opening: when a loaded machine reaches the window check after it closed, the
    cycle ends skipped with nothing touched, and the test tries the next opening."""
    window = CronWindow("*/15 * * * * *", 5)
    stack = stack_for(scenario("window", needs("user/0", "user/1", "user/2")), REBOOTER_WINDOW_SOURCE="cron",
                      REBOOTER_WINDOW_SCHEDULE=window.schedule, REBOOTER_WINDOW_DURATION_SECONDS="5",
                      REBOOTER_SOAK_SECONDS="6")
    for _attempt in range(5):
        now = datetime.now(UTC)
        opens = window.next_open(window.closes_at(now) if window.is_open(now) else now)  # a fresh opening
        time.sleep(max(0.0, (opens - datetime.now(UTC)).total_seconds()))  # until the window opens
        status = run(stack)
        if status["output"]["outcome"] != "skipped":
            break
        assert "outside the maintenance window" in status["output"]["reason"]
        assert cordons_by_app(stack.sandbox.timeline) == [], "a cycle skipped at its window check touched a node"
    assert status["output"]["outcome"] == "completed", status["output"]
    assert len(cordons_by_app(stack.sandbox.timeline)) == 3
    # Each node was started (its patch_node began, the parent having checked the window) inside an opening.
    starts = [datetime.fromisoformat(n["steps"][0]["startedAt"]) for n in status["output"]["nodes"]]
    for moment in starts:
        assert window.is_open(moment), (moment, starts)
    openings = {window.closes_at(m) for m in starts}
    assert len(openings) >= 2, "the window closed mid-cycle and the rest went in a later opening"


def test_budget_two_with_a_node_already_notready_takes_out_only_one_more(stack_for):
    nodes = needs("user/0", "user/1") + [{"node": "user/2", "ready": False}]
    stack = stack_for(scenario("budget", nodes), REBOOTER_MAX_UNAVAILABLE="2")
    status = run(stack)
    assert {r["result"] for r in results(status).values()} == {"patched"}
    timeline = stack.sandbox.timeline
    assert invariants.max_unavailable(timeline).count == 2  # the NotReady node plus one of ours
    assert invariants.max_unavailable(timeline, exclude_foreign=True).count == 1


@pytest.fixture
def prometheus():
    """A Prometheus-compatible /api/v1/query on loopback whose ALERTS the test switches."""
    state = {"alerts": [{"metric": {"alertname": "NodeDiskPressure", "alertstate": "firing"}, "value": [0, "1"]}]}

    class Api(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": state["alerts"]}})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", state
    server.shutdown()


def test_an_active_alert_blocks_and_its_clearing_lets_the_cycle_proceed(stack_for, prometheus):
    url, state = prometheus
    stack = stack_for(scenario("alert", needs("user/0")), REBOOTER_PROMETHEUS_URL=url,
                      REBOOTER_BLOCKER_RETRY_SECONDS="1")
    instance = stack.api.start({"cluster": stack.sandbox.cluster_resource_id}).json()["id"]
    blocked = stack.api.until(instance, lambda s: "blocked" in (s.get("customStatus") or {}).get("step", ""))
    assert "NodeDiskPressure" in blocked["customStatus"]["step"]
    time.sleep(1.5)
    assert cordons_by_app(stack.sandbox.timeline) == [], "nothing is taken out while an alert fires"
    state["alerts"] = []
    final = stack.api.wait(instance)
    assert final["output"]["outcome"] == "completed" and final["output"]["counts"]["patched"] == 1


def test_a_pdb_with_no_spare_capacity_is_detected_before_cordoning(stack_for):
    workloads = {"deployments": [{"name": "frozen", "replicas": 3, "pools": ["user"], "pdb": {"maxUnavailable": 0}}]}
    stack = stack_for(scenario("pdb", needs("user/0"), workloads=workloads))
    status = run(stack)
    [result] = status["output"]["nodes"]
    assert result["result"] == "undrainable" and result["predicted"] is True
    assert "frozen-pdb" in result["reason"] and "allows no disruption" in result["reason"]
    assert cordons_by_app(stack.sandbox.timeline) == []
    assert stack.sandbox.timeline.events("eviction") == []


SLOW_TERMINATION = {"podTerminationSeconds": 30}  # pods outlive the drain timeout: the drain cannot finish


@pytest.mark.parametrize("policy", ["skip", "quarantine", "force"])
def test_undrainable_policies(stack_for, policy):
    stack = stack_for(scenario(f"drain-{policy}", needs("user/0", "user/1"), timings=SLOW_TERMINATION),
                      REBOOTER_UNDRAINABLE_POLICY=policy, REBOOTER_DRAIN_TIMEOUT_SECONDS="3")
    status = run(stack)
    first = node(stack, "user/0")
    result = results(status)[first]
    store = stack.sandbox.cluster.store
    state = store.get("nodes", first)
    rebooted = [e for e in stack.sandbox.timeline.events("reboot") if e["node"] == first]
    if policy == "skip":
        assert result["result"] == "undrainable" and "terminating" in result["reason"]
        assert not state["spec"].get("unschedulable"), "our cordon is undone"
        assert rebooted == []
        assert status["output"]["outcome"] == "completed"  # skip: the rollout goes on
    elif policy == "quarantine":
        assert result["result"] == "quarantined" and result["cordoned"] is True
        assert state["spec"].get("unschedulable") is True
        assert state["metadata"]["labels"].get(QUARANTINE_LABEL) == "true"
        assert rebooted == []
        assert status["output"]["outcome"] == "halted" and "quarantined" in status["output"]["reason"]
        lock = stack.api.get(f"clusters/{stack.sandbox.scenario.cluster.name}/lock").json()
        assert lock["holders"] == {}, "a quarantined node keeps its cordon, not the lock"
    else:
        assert result["result"] == "patched", result
        assert any(s.get("forced") for s in result["steps"] if s["step"] == "drain")
        assert rebooted, "force deletes what would not leave, then reboots"
        assert not state["spec"].get("unschedulable")


def test_a_node_that_never_comes_back_halts_the_cycle_with_the_lock_kept(stack_for):
    nodes = needs("user/0", "user/1")
    stack = stack_for(scenario("never", nodes, faults=[{"type": "nodeNeverReturns", "node": "user/0"}]),
                      REBOOTER_HEALTH_TIMEOUT_SECONDS="4")
    status = run(stack)
    first = node(stack, "user/0")
    second = node(stack, "user/1")
    result = results(status)[first]
    assert result["result"] == "failed" and result["lockKept"] is True
    assert status["output"]["outcome"] == "halted"
    assert second not in results(status), "the next node is not started"
    lock = stack.api.get(f"clusters/{stack.sandbox.scenario.cluster.name}/lock").json()
    assert [h["node"] for h in lock["holders"].values()] == [first], "kept: reading the lock does not free it"
    assert "not healthy" in next(iter(lock["holders"].values()))["kept"]
    broken = stack.api.session_post(f"clusters/{stack.sandbox.scenario.cluster.name}/lock/break",
                                    {"reason": "node replaced by hand", "by": "oncall"})
    assert broken.status_code == 202 and broken.json()["broken"]
    assert stack.sandbox.cluster.store.get("nodes", first)["spec"].get("unschedulable") is True
    assert not [e for e in stack.sandbox.timeline.events("reboot") if e["node"] == second]


def test_a_dead_lock_holder_is_released(stack_for):
    stack = stack_for(scenario("deadlock", needs("user/0")))
    cluster = stack.sandbox.cluster_resource_id
    key = names.parse_cluster_id(cluster).key
    now = datetime.now(UTC).isoformat()
    stack.engine.client.signal_entity(EntityInstanceId("cluster_lock", key), "acquire",
                                      {"holder": "patch-cycle.gone:aks-user-0", "node": "aks-user-0", "now": now,
                                       "ttlSeconds": 86400, "limit": 1})
    dead = "patch-cycle.gone:aks-user-0"
    lock = stack.api.until_ok(lambda: stack.api.get("clusters/aks-deadlock/lock").json(),
                              lambda body: any(e["event"] == "released" and e["holder"] == dead
                                               for e in body["history"]))
    assert dead not in lock["holders"]
    status = run(stack)
    assert status["output"]["counts"]["patched"] == 1


def test_an_opted_out_node_is_never_touched(stack_for):
    nodes = needs("user/0", "user/1")
    nodes[0]["labels"] = {"rebooter.aks.io/opt-out": "true"}
    stack = stack_for(scenario("optout", nodes))
    status = run(stack)
    opted = node(stack, "user/0")
    skipped = {s["node"]: s["reason"] for s in status["output"]["skipped"]}
    assert "opted out" in skipped[opted]
    assert all(n != opted for _, n in cordons_by_app(stack.sandbox.timeline))
    assert not [e for e in stack.sandbox.timeline.events("eviction") if e.get("node") == opted]
    assert status["output"]["counts"]["patched"] == 1
