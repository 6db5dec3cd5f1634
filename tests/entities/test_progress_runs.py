"""The progress entity's ledger of a cycle between executions (run_save, run_end): batches cut at
wave boundaries, an execution's results kept once however often it hands them over, the ledger
gone after run_end, and at most MAX_RUNS ledgers kept."""

from __future__ import annotations

from entities import progress

CYCLE, STARTED = "patch-cycle.sub.rg.aks", "2026-01-05T02:00:00+00:00"


def _node(i: int) -> dict:
    return {"node": f"n{i}", "pool": "user"}


def _result(i: int) -> dict:
    return {"node": f"n{i}", "result": "patched", "reason": "", "seconds": 1.0}


def _first(state=None, instance=CYCLE, started=STARTED):
    waves = [[_node(2), _node(3)], [_node(4)], [_node(5), _node(6)]]
    return progress.reduce(state, "run_save", {
        "instanceId": instance, "startedAt": started, "execution": 1, "take": 3,
        "results": [_result(0), _result(1)],
        "plan": {"waves": waves, "skipped": [{"node": "x", "reason": "r"}], "upToDate": ["u"], "tainted": ["n2"]}})


def test_batches_end_on_a_wave_boundary_and_everything_comes_back_once():
    state, batch = _first()
    assert batch == {"waves": [[_node(2), _node(3)], [_node(4)]], "next": 2, "more": True}
    handed = {"instanceId": CYCLE, "startedAt": STARTED, "execution": 2, "take": 3, "from": 2,
              "results": [_result(2), _result(3), _result(4)]}
    state, batch = progress.reduce(state, "run_save", handed)
    state, again = progress.reduce(state, "run_save", handed)  # delivered twice: kept once
    assert batch == again == {"waves": [[_node(5), _node(6)]], "next": 3, "more": False}
    state, back = progress.reduce(state, "run_end", {"instanceId": CYCLE, "startedAt": STARTED, "from": 3})
    assert [r["node"] for r in back["results"]] == ["n0", "n1", "n2", "n3", "n4"]
    assert (back["skipped"], back["upToDate"], back["tainted"], back["left"]) == ([{"node": "x", "reason": "r"}],
                                                                                 ["u"], ["n2"], [])
    assert state["runs"] == {}
    _, gone = progress.reduce(state, "run_end", {"instanceId": CYCLE, "startedAt": STARTED, "from": 3})
    assert gone == {"missing": True}


def test_the_waves_never_handed_out_come_back_as_left():
    state, _ = _first()
    _, back = progress.reduce(state, "run_end", {"instanceId": CYCLE, "startedAt": STARTED, "from": 1})
    assert back["left"] == ["n4", "n5", "n6"]


def test_another_start_of_the_same_instance_is_not_this_runs_ledger_and_ledgers_are_bounded():
    state, _ = _first()
    _, answer = progress.reduce(state, "run_save", {"instanceId": CYCLE, "startedAt": "2026-01-06T02:00:00+00:00",
                                                    "execution": 2, "take": 3, "from": 2, "results": []})
    assert answer == {"missing": True}
    for i in range(progress.MAX_RUNS + 2):
        state, _ = _first(state, instance=f"cycle-{i}")
    assert list(state["runs"]) == [f"cycle-{i}" for i in range(2, progress.MAX_RUNS + 2)]
