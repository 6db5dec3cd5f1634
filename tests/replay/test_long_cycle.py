"""A cycle over many executions (continue-as-new every REBOOTER_NODES_PER_EXECUTION nodes).

What an execution carries into the next must not grow with the nodes already done (issue 13:
every execution carried the result of every node so far, O(n^2) replay work); the earlier
results, the waves not started and the plan's lists wait in the progress entity's ledger and
come back once, so the summary still names every node with its result.
"""

from __future__ import annotations

import json

from .fakes import FakeCluster, Node, Pool
from .harness import run_cycle

PER_EXECUTION = 2


def _name(i: int) -> str:
    return f"aks-user-{i:04d}"


def _cluster(patch: int, up_to_date: int = 0, broken_pools: int = 0, **knobs) -> FakeCluster:
    """``patch`` nodes needing a reboot, then ``up_to_date`` ones that do not, in pool ``user``;
    ``broken_pools`` more pools whose probe fails (skipped at planning, one entry per pool)."""
    nodes = [Node(_name(i), "user", i < patch, f"0b9a3c1e-0000-4000-8000-{i:012d}") for i in range(patch + up_to_date)]
    broken = [f"broken{i}" for i in range(broken_pools)]
    nodes += [Node(f"aks-{pool}-0000", pool, True, f"0b9a3c1e-0000-4000-8001-{i:012d}") for i, pool in enumerate(broken)]

    def fetch_fault(payload):
        return RuntimeError(f"run-command for pool {payload['pool']} ended Failed") if payload["pool"] in broken else None

    return FakeCluster(pools=[Pool("user")] + [Pool(p) for p in broken], nodes=nodes, probe_running_polls=1,
                       drain_pending_passes=0, health_pending_checks=1, failing={"fetch_probe_result": fetch_fault},
                       **knobs)


def _run(cluster: FakeCluster, **overrides):
    run = run_cycle(cluster, overrides={"nodesPerExecution": PER_EXECUTION, **overrides})
    assert run.cycle.status == "Completed", run.cycle.error
    return run


def test_a_cycle_over_many_executions_summarises_every_node_with_its_result():
    run = _run(_cluster(patch=9, up_to_date=3, broken_pools=2))
    out = run.cycle.output
    patched = [_name(i) for i in range(9)]

    assert len(run.cycle.inputs) == 5, "9 nodes, 2 per execution"
    assert out["outcome"] == "completed", out["reason"]
    assert [(n["node"], n["result"]) for n in out["nodes"]] == [(n, "patched") for n in patched]
    assert all(n["after"]["bootId"] != n["before"]["bootId"] for n in out["nodes"])
    assert out["nodes"][-1]["steps"] and "steps" not in out["nodes"][0], "earlier executions' results are compact"
    assert out["counts"] == {"total": 9, "patched": 9, "failed": 0, "skipped": 2, "upToDate": 3}
    assert out["upToDate"] == [_name(i) for i in range(9, 12)]
    assert [s["node"] for s in out["skipped"]] == ["pool broken0", "pool broken1"]
    assert all("Failed" in s["reason"] for s in out["skipped"])
    final = run.cycle.custom_status
    assert (final["done"], final["total"], final["skippedCount"]) == (9, 9, 2)
    # Every planned node tainted at planning is untainted at the end, from the ledger's list.
    taints = [(tuple(p["nodes"]), p["pending"]) for p in run.cluster.called("set_pending_taint")]
    assert taints[0] == (tuple(patched), True) and taints[-1] == (tuple(patched), False)
    # The progress entity keeps the cycle with every node; the ledger is gone.
    [cycle] = run.progress["cycles"]
    assert [n["node"] for n in cycle["nodes"]] == patched and cycle["summary"] == out["counts"]
    assert run.progress.get("runs") == {}
    assert run.lock["holders"] == {}


def test_a_halt_in_a_later_execution_names_the_nodes_done_and_those_never_started():
    run = _run(_cluster(patch=7, never_healthy={_name(3)}), healthTimeoutSeconds=60)
    out = run.cycle.output

    assert len(run.cycle.inputs) == 2, "halted in the second execution"
    assert out["outcome"] == "halted" and out["reason"].startswith(f"node {_name(3)} failed")
    assert [(n["node"], n["result"]) for n in out["nodes"]] == [
        (_name(0), "patched"), (_name(1), "patched"), (_name(2), "patched"), (_name(3), "failed")]
    assert out["skipped"] == [{"node": _name(i), "reason": f"not started: the cycle halted ({out['reason']})"}
                              for i in range(4, 7)]
    assert out["counts"] == {"total": 7, "patched": 3, "failed": 1, "skipped": 3, "upToDate": 0}
    assert run.cluster.called("cordon_node", _name(4)) == []
    assert run.progress.get("runs") == {}


def test_what_an_execution_carries_does_not_grow_with_the_nodes_done():
    """Each continued execution's input names only the nodes of its own batch, so its size is
    the same in the last execution as in the second (it used to carry every result so far)."""
    run = _run(_cluster(patch=16, up_to_date=40))
    inputs = run.cycle.inputs
    assert len(inputs) == 8
    everyone = [_name(i) for i in range(56)]
    for number, text in enumerate(inputs[1:], start=1):
        batch = {_name(i) for i in range(number * PER_EXECUTION, (number + 1) * PER_EXECUTION)}
        named = {n for n in everyone if n in text}
        assert named == batch, (number, sorted(named - batch))
        assert "resume" in json.loads(text)
    sizes = [len(text) for text in inputs[1:]]
    assert max(sizes) - min(sizes) <= 16, sizes  # a few more digits in the counts, no more
    assert run.cycle.output["counts"]["patched"] == 16 and len(run.cycle.output["upToDate"]) == 40
