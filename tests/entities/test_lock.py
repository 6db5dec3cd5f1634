from entities import lock, progress

NOW = "2026-11-26T10:00:00+00:00"
LATER = "2026-11-26T12:00:01+00:00"


def acquire(state, holder, now=NOW, limit=1, ttl=3600):
    return lock.reduce(state, "acquire", {"holder": holder, "node": holder, "now": now, "ttlSeconds": ttl,
                                          "limit": limit})


def test_second_holder_waits_until_release():
    state, got = acquire(None, "a")
    assert got["acquired"]
    state, got = acquire(state, "b")
    assert not got["acquired"] and list(got["holders"]) == ["a"]
    state, released = lock.reduce(state, "release", {"holder": "a", "now": NOW})
    assert released == {"released": True}
    state, got = acquire(state, "b")
    assert got["acquired"] and list(state["holders"]) == ["b"]


def test_acquire_twice_by_same_holder_is_a_renewal():
    state, _ = acquire(None, "a")
    state2, got = acquire(state, "a", now="2026-11-26T10:30:00+00:00")
    assert got["acquired"] and got["renewed"]
    assert list(state2["holders"]) == ["a"]
    assert state2["holders"]["a"]["expiresAt"] > state["holders"]["a"]["expiresAt"]


def test_limit_allows_several_holders():
    state, _ = acquire(None, "a", limit=2)
    state, got = acquire(state, "b", limit=2)
    assert got["acquired"]
    state, got = acquire(state, "c", limit=2)
    assert not got["acquired"]


def test_expired_holder_frees_its_slot():
    state, _ = acquire(None, "dead", ttl=60)
    state, got = acquire(state, "b", now=LATER)
    assert got["acquired"] and list(state["holders"]) == ["b"]


def test_release_by_non_holder_changes_nothing():
    state, _ = acquire(None, "a")
    after, result = lock.reduce(state, "release", {"holder": "x", "now": NOW})
    assert result == {"released": False} and after["holders"] == state["holders"]


def test_break_clears_and_records():
    state, _ = acquire(None, "a")
    state, result = lock.reduce(state, "break", {"by": "ops", "reason": "stuck", "now": NOW})
    assert result == {"broken": ["a"]} and state["holders"] == {}
    assert state["history"][-1]["event"] == "broken"


def test_unknown_operation_raises():
    import pytest

    with pytest.raises(ValueError, match="unknown operation"):
        lock.reduce(None, "steal", {"now": NOW})


def test_progress_keeps_last_step_and_result_per_node():
    state, _ = progress.reduce(None, "node", {"node": "n1", "step": "drain", "at": NOW, "instanceId": "i"})
    state, _ = progress.reduce(state, "node", {"node": "n1", "step": "patched", "at": LATER, "instanceId": "i",
                                               "result": {"result": "patched"}})
    assert state["nodes"]["n1"]["step"] == "patched"
    assert state["nodes"]["n1"]["result"] == {"result": "patched"}
    state, _ = progress.reduce(state, "cycle", {"instanceId": "i", "startedAt": NOW, "status": "running"})
    state, _ = progress.reduce(state, "cycle", {"instanceId": "i", "startedAt": NOW, "status": "completed"})
    assert [c["status"] for c in state["cycles"]] == ["completed"]


def test_nodes_already_unavailable_count_against_the_budget():
    state, got = lock.reduce(None, "acquire", {"holder": "a", "now": NOW, "ttlSeconds": 60, "limit": 2, "external": 1})
    assert got["acquired"]
    state, got = lock.reduce(state, "acquire", {"holder": "b", "now": NOW, "ttlSeconds": 60, "limit": 2,
                                                "external": 1})
    assert not got["acquired"] and "1 already unavailable" in got["reason"]


def test_per_pool_budget():
    state, _ = lock.reduce(None, "acquire", {"holder": "a", "pool": "p1", "now": NOW, "ttlSeconds": 60, "limit": 3,
                                             "poolLimit": 1})
    state, got = lock.reduce(state, "acquire", {"holder": "b", "pool": "p1", "now": NOW, "ttlSeconds": 60,
                                                "limit": 3, "poolLimit": 1})
    assert not got["acquired"] and "pool p1" in got["reason"]
    state, got = lock.reduce(state, "acquire", {"holder": "c", "pool": "p2", "now": NOW, "ttlSeconds": 60,
                                                "limit": 3, "poolLimit": 1})
    assert got["acquired"]


def test_a_kept_slot_survives_its_ttl_until_broken():
    state, _ = acquire(None, "failed-node", ttl=60)
    state, kept = lock.reduce(state, "keep", {"holder": "failed-node", "now": NOW, "reason": "not healthy"})
    assert kept == {"kept": True}
    state, got = acquire(state, "next", now=LATER)
    assert not got["acquired"], "the TTL does not free a kept slot"
    state, _ = lock.reduce(state, "break", {"by": "ops", "reason": "replaced", "now": LATER})
    state, got = acquire(state, "next", now=LATER)
    assert got["acquired"]


def test_progress_keeps_what_the_last_describe_and_probe_saw():
    state, _ = progress.reduce(None, "observed", {"cluster": {"nodeOsUpgradeChannel": "Unmanaged", "at": NOW}})
    state, seen = progress.reduce(state, "observed", {"probe": {"at": LATER, "pending": ["n1"]}, "junk": 1})
    assert seen == {"cluster": {"nodeOsUpgradeChannel": "Unmanaged", "at": NOW},
                    "probe": {"at": LATER, "pending": ["n1"]}}
    state, _ = progress.reduce(state, "observed", {"probe": {"at": LATER, "pending": []}})
    assert state["observed"]["probe"]["pending"] == [] and state["observed"]["cluster"]["at"] == NOW
    assert state["nodes"] == {} and state["cycles"] == []


def test_a_node_held_by_another_live_holder_is_refused_whatever_the_budget():
    """One node, one patch_node: an orphan still patching node n (its cycle was terminated with a
    raw Durable terminate) keeps n; a new cycle's patch_node for n is refused even with room, and
    gets n once the orphan releases it or its slot expires."""
    state, _ = lock.reduce(None, "acquire", {"holder": "orphan", "node": "n", "now": NOW, "ttlSeconds": 60,
                                             "limit": 3, "out": []})
    take = {"holder": "new", "node": "n", "now": NOW, "ttlSeconds": 60, "limit": 3, "out": []}
    state, got = lock.reduce(state, "acquire", take)
    assert not got["acquired"] and got["heldBy"] == "orphan" and "n is being patched by orphan" in got["reason"]
    _, other = lock.reduce(state, "acquire", {**take, "holder": "m-holder", "node": "m"})
    assert other["acquired"], "another node still fits the budget"
    _, expired = lock.reduce(state, "acquire", {**take, "now": LATER})
    assert expired["acquired"], "an orphan that stopped renewing frees the node after its TTL"
    state, _ = lock.reduce(state, "release", {"holder": "orphan", "now": NOW})
    _, got = lock.reduce(state, "acquire", take)
    assert got["acquired"]
