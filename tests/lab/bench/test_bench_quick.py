"""The benchmark's measurement code, on small sizes: counts add up, bounds are bounds, reports render.

No timing is asserted (this machine is shared); only that what the benchmark reports is
consistent with itself and with what happened.
"""

from __future__ import annotations

import json
import random

import pytest

from lab.bench import figures, fit, kured_model, physical, report, run, scaling


def test_fit_recovers_known_exponents():
    sizes = [10, 100, 1000]
    assert fit.exponent(sizes, [3.0 * n for n in sizes]) == pytest.approx(1.0)
    assert fit.exponent(sizes, [0.5 * n * n for n in sizes]) == pytest.approx(2.0)
    assert fit.exponent([10], [1.0]) is None
    slope, intercept, r2 = fit.linear([(0, 1), (1, 3), (2, 5)])
    assert (slope, intercept, r2) == pytest.approx((2.0, 1.0, 1.0))


def _event(t, kind, **data):
    return {"seq": 0, "t": t, "wall": "2026-01-01T00:00:00.000Z", "kind": kind, "data": data}


def test_physical_bound_reads_drain_reboot_and_ready_from_the_timeline():
    node = "aks-user-1"
    events = [
        _event(1.0, "node", node=node, changes={"unschedulable": [False, True]}, state={"ready": "True"}),
        _event(1.1, "eviction", node=node, namespace="d", pod="a", status=201),
        _event(1.2, "eviction", node=node, namespace="d", pod="b", status=429),
        _event(1.6, "eviction", node=node, namespace="d", pod="b", status=201),
        _event(2.1, "pod_deleted", node=node, namespace="d", pod="a"),
        _event(2.6, "pod_deleted", node=node, namespace="d", pod="b"),
        _event(2.9, "reboot", node=node, phase="down"),
        _event(2.9, "node", node=node, changes={"ready": ["True", "Unknown"]}, state={"ready": "Unknown"}),
        _event(7.9, "reboot", node=node, phase="up"),
        _event(8.4, "node", node=node, changes={"ready": ["Unknown", "True"]}, state={"ready": "True"}),
        _event(9.0, "node", node=node, changes={"unschedulable": [True, False]}, state={"ready": "True"}),
    ]
    [times] = physical.node_times(events)
    assert (times.drain, times.reboot, times.ready) == pytest.approx((1.5, 5.0, 0.5))
    assert (times.cordon_at, times.uncordon_at, times.evictions, times.refused) == (1.0, 9.0, 3, 1)
    assert physical.bound(events)["physicalSeconds"] == pytest.approx(7.0)


def test_kured_model_respects_its_own_rules():
    hour = kured_model.HOUR
    rng = random.Random(3)
    for _ in range(50):  # one node: first check 0.5-1.5 periods after t = 0, then its own time
        assert 0.5 * hour + 60 <= kured_model.simulate_once([60.0], rng) <= 1.5 * hour + 60
    durations = [600.0] * 30  # more node time than one period: the lock serializes them
    assert kured_model.simulate_once(durations, rng) >= sum(durations)
    a, b = kured_model.simulate([10.0] * 5, runs=50, seed=7), kured_model.simulate([10.0] * 5, runs=50, seed=7)
    assert a == b and a["p50Seconds"] <= a["p95Seconds"]


@pytest.fixture(scope="module")
def small_runs():
    return {"replay": scaling.replay(3), "local": scaling.local(3)}


def test_scaling_counts_add_up_on_both_engines(small_runs):
    for result in small_runs.values():
        assert result["patched"] == result["nodes"] == 3, result.get("failure")
        assert result["invocations"] == result["episodes"] + result["activities"] + result["entityOperations"]
        assert result["activities"] == sum(result["activityCalls"].values())
        assert result["episodes"] == sum(o["episodes"] for o in result["byOrchestrator"].values())
        assert result["byOrchestrator"]["patch_node"]["instances"] == 3
        assert result["perNode"]["invocations"] == pytest.approx(result["invocations"] / 3, abs=1e-3)
        assert result["replayedEvents"] >= result["historyEvents"] > 0
    # The same orchestrators against the same fakes call the same activities on either engine.
    assert small_runs["replay"]["activityCalls"] == small_runs["local"]["activityCalls"]


def test_quick_run_writes_a_consistent_report(tmp_path, small_runs):
    assert run.main(["--quick", "--only", "overhead,fanout,dispatch-0.05", "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "latest-quick.json").read_text())
    over, fan = results["jobs"]["overhead"], results["jobs"]["fanout"]
    assert over["patched"] == over["nodes"] and over["status"] == "COMPLETED"
    assert over["poll"] is None and fan["poll"] is None  # the headline rows run on the app's defaults
    late = results["jobs"]["dispatch-0.05"]  # the engine with every dispatch delayed still completes
    assert late["dispatchSeconds"] == 0.05 and late["patched"] == late["nodes"] and late["status"] == "COMPLETED"
    assert 0 < over["physicalSeconds"] <= over["cycleSeconds"]  # a bound is below what it bounds
    assert over["bound"]["nodes"] == over["nodes"]
    assert fan["statuses"] == ["COMPLETED", "COMPLETED"]
    assert fan["runCommands"]["manyPools"]["commands"] == fan["pools"]
    assert fan["discoverySeconds"] >= fan["latencySeconds"]  # no pool can answer before its command started
    env = results["environment"]
    assert env["cpuCount"] and env["python"] and env["packages"]["durabletask"]
    # The report renders with the scaling rows of this module too.
    results["jobs"].update({"scaling-replay-3": small_runs["replay"], "scaling-local-3": small_runs["local"]})
    text = report.markdown(figures.summarize(results))
    assert "## Summary" in text and "## Overhead" in text and "## Scaling" in text and "kured" in text


def test_the_full_run_holds_the_goal_jobs_and_the_extra_jobs_run_only_by_name():
    full = run.selected([])
    assert full == list(run.JOBS) and not set(full) & set(run.EXTRA_JOBS)
    assert {"overhead", "dispatch-0.05", "dispatch-1", "fanout", "scaling-replay-1000", "scaling-local-1000"} <= set(full)
    assert run.JOBS["overhead"][1]["poll"] is None and run.JOBS["fanout"][1]["poll"] is None
    assert run.selected(["overhead"]) == ["overhead", "overhead-poll"]  # a prefix never reaches an extra job
    assert run.selected(["fleet-50", "scaling-local"]) == [
        "scaling-local-10", "scaling-local-100", "scaling-local-1000", "fleet-50"]


def test_a_full_run_reports_its_total_against_the_20_minute_goal():
    jobs = {"overhead": {"job": {"seconds": 1000.0, "loadBefore": 1.5, "loadAfter": 4.0}}}
    for seconds, verdict in ((907.3, "met"), (1479.0, "**missed**")):
        results = figures.summarize({"jobs": dict(jobs), "fullRun": True, "goalSeconds": run.GOAL_SECONDS,
                                     "seconds": seconds})
        [row] = [r for r in results["summary"] if r["measure"].startswith("bench: wall time")]
        assert row["result"] == seconds and row["goal"] == 1200 and "1.5-4" in row["detail"]
        assert figures.verdict_of(row["result"], row["goal"]) == verdict
    partial = figures.summarize({"jobs": dict(jobs), "fullRun": False, "goalSeconds": 1200, "seconds": 10.0})
    assert not [r for r in partial["summary"] if r["measure"].startswith("bench: wall time")]
