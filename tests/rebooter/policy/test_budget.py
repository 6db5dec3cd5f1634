"""Budget from the world (rebooter.budget, entities.lock): every combination of what the node list
says and what the lock holds. The cluster is the source of truth; the lock is a reservation."""

from __future__ import annotations

import pytest

from entities import lock
from rebooter.kube import inventory
from rebooter.policy import budget

NOW = "2026-11-26T10:00:00+00:00"


def fact(name: str, pool: str = "p1", ready: str = "True", unschedulable: bool = False, ours: bool = False,
         quarantined: bool = False) -> dict:
    return {"name": name, "pool": pool, "ready": ready, "unschedulable": unschedulable, "cordonedByUs": ours,
            "quarantined": quarantined}


def slot(node: str, pool: str = "p1", kept: str = "") -> dict:
    entry = {"node": node, "pool": pool, "expiresAt": "2026-11-26T11:00:00+00:00"}
    return {**entry, "kept": kept} if kept else entry


CASES = {
    # name: (facts, holders, nodes counted out)
    "ours cordoned and Ready, no slot": ([fact("a", unschedulable=True, ours=True)], {}, ["a"]),
    "ours cordoned and Ready, with its slot": ([fact("a", unschedulable=True, ours=True)], {"c:a": slot("a")}, ["a"]),
    "ours NotReady without a slot": ([fact("a", ready="Unknown", unschedulable=True, ours=True)], {}, ["a"]),
    "ours annotation only (uncordon half done)": ([fact("a", ours=True)], {}, ["a"]),
    "held slot, node Ready and schedulable": ([fact("a")], {"c:a": slot("a")}, ["a"]),
    "foreign cordon": ([fact("a", unschedulable=True)], {}, ["a"]),
    "quarantined": ([fact("a", unschedulable=True, ours=True, quarantined=True)], {}, ["a"]),
    "NotReady by itself": ([fact("a", ready="False")], {}, ["a"]),
    "Ready Unknown": ([fact("a", ready="Unknown")], {}, ["a"]),
    "deleted node with a slot": ([], {"c:gone": slot("gone")}, ["gone"]),
    "kept slot, node down": ([fact("a", ready="Unknown", unschedulable=True, ours=True)],
                             {"c:a": slot("a", kept="not healthy")}, ["a"]),
    "kept slot, node gone": ([], {"c:a": slot("a", kept="not healthy")}, ["a"]),
    "healthy node, no slot": ([fact("a")], {}, []),
    "down node and another node's slot": ([fact("a", ready="Unknown", ours=True), fact("b")],
                                          {"c:b": slot("b")}, ["a", "b"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_nodes_out_counts_every_cause_once(name):
    facts, holders, expected = CASES[name]
    out = budget.nodes_out(budget.world_out(facts), holders)
    assert [e["node"] for e in out] == expected
    assert all(e["why"] for e in out)


def test_reasons_name_every_cause():
    (entry,) = budget.world_out([fact("a", ready="Unknown", unschedulable=True, ours=True, quarantined=True)])
    assert entry["why"] == "Ready=Unknown, unschedulable, quarantined, cordoned by us"


def test_a_node_already_out_adds_nothing_when_taken():
    out = budget.nodes_out(budget.world_out([fact("a", unschedulable=True, ours=True), fact("b")]), {})
    assert budget.refusal(out, "a", "p1", limit=1) == ""  # resuming the node an interrupted cycle cordoned
    assert "budget 1 used: 1 node(s) out (a: unschedulable, cordoned by us)" in budget.refusal(out, "b", "p1", 1)


def test_pool_budget_counts_the_pool_only():
    out = budget.nodes_out(budget.world_out([fact("a", pool="p1", ready="False"), fact("b", pool="p2")]), {})
    assert budget.refusal(out, "b", "p2", limit=3, pool_limit=1) == ""
    assert "pool p1 budget 1 used" in budget.refusal(out, "c", "p1", limit=3, pool_limit=1)


def acquire(state, holder, node, facts, limit=1, now=NOW):
    out = inventory.unavailable(facts)["out"]
    return lock.reduce(state, "acquire", {"holder": holder, "node": node, "pool": "p1", "now": now,
                                          "ttlSeconds": 60, "limit": limit, "out": out})


def test_reported_bug_a_broken_lock_never_makes_a_down_node_count_as_up():
    """Budget 1; node a never came back after its reboot; its slot is freed (patch_node terminated in
    wait healthy, then the TTL ran out; or an admin broke the lock). Before the fix the next cycle's
    acquire for b was granted (our cordoned node was left out of "already unavailable")."""
    down = fact("a", ready="Unknown", unschedulable=True, ours=True)
    state, got = acquire(None, "c:a", "a", [fact("a"), fact("b")])
    assert got["acquired"]
    state, _ = lock.reduce(state, "break", {"by": "admin", "now": NOW})
    state, got = acquire(state, "c:b", "b", [down, fact("b")])
    assert not got["acquired"], "a second node out with budget 1"
    assert "a: Ready=Unknown, unschedulable, cordoned by us" in got["reason"]
    state, got = acquire(state, "c:a", "a", [down, fact("b")])
    assert got["acquired"], "the down node itself may be resumed: it is out already"


def test_a_kept_slot_stays_whatever_a_later_cycle_does():
    state, _ = acquire(None, "c:a", "a", [fact("a"), fact("b")])
    state, kept = lock.reduce(state, "keep", {"holder": "c:a", "now": NOW, "reason": "not healthy"})
    assert kept == {"kept": True}
    # The next cycle's patch_node for the same node has the same holder id: refused, not renewed.
    state, got = acquire(state, "c:a", "a", [fact("a", ready="Unknown", unschedulable=True, ours=True)], limit=5)
    assert not got["acquired"] and got["kept"] == "not healthy"
    state, released = lock.reduce(state, "release", {"holder": "c:a", "now": NOW})
    assert released["released"] is False and state["holders"]["c:a"]["kept"] == "not healthy"
    state, got = acquire(state, "other:a", "a", [], limit=5)
    assert not got["acquired"], "another holder id for the same node is refused too"
    state, _ = lock.reduce(state, "break", {"by": "ops", "now": NOW})
    state, got = acquire(state, "c:a", "a", [fact("a", ready="Unknown", unschedulable=True, ours=True)])
    assert got["acquired"], "after an operator broke the lock the node may be retried"


def test_keep_takes_a_slot_that_is_already_gone():
    state, kept = lock.reduce(None, "keep", {"holder": "c:a", "node": "a", "pool": "p1", "now": NOW,
                                              "reason": "not healthy"})
    assert kept == {"kept": True} and state["holders"]["c:a"]["kept"] == "not healthy"
    _, kept = lock.reduce(None, "keep", {"holder": "c:a", "now": NOW})
    assert kept == {"kept": False}, "without a node there is nothing to keep"
