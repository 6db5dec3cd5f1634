"""The timeline and fleet pages' models (pure): bars, the nodes-out lane, pending reboots, escaping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rebooter.config import settings
from starters import fleet, timeline

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
CLUSTER = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/" \
          "Microsoft.ContainerService/managedClusters/aks1"


def steps(offsets):
    return [{"step": name, "startedAt": (T0 + timedelta(seconds=start)).isoformat(), **({"seconds": secs}
            if secs is not None else {})} for name, start, secs in offsets]


def status(state="Completed", **output):
    return {"id": "patch-cycle.x", "status": state, "createdTime": T0.isoformat(),
            "lastUpdatedTime": (T0 + timedelta(seconds=100)).isoformat(), "output": output or None,
            "customStatus": {}}


def test_bars_are_coloured_by_result_and_the_lane_counts_nodes_out():
    ok = {"node": "a", "result": "patched", "steps": steps([("lock", 0, 1), ("cordon", 1, 1), ("drain", 2, 3),
                                                             ("reboot", 5, 1), ("wait healthy", 6, 4),
                                                             ("uncordon", 10, 1)])}
    failed = {"node": "b", "result": "failed", "cordoned": True, "lockKept": True,
              "steps": steps([("lock", 11, 1), ("cordon", 12, 1), ("drain", 13, 1), ("reboot", 14, 1),
                              ("wait healthy", 15, 20)])}
    skipped = [{"node": "c", "reason": "cordoned by someone else; left alone"},
               {"node": "d", "reason": "opted out by label; never touched"}]
    model = timeline.build(status(outcome="halted", reason="node b failed", skipped=skipped, nodes=[]), [ok, failed],
                           budget=2, now=T0 + timedelta(seconds=200))
    a, b = model["rows"]
    assert [bar["state"] for bar in a["bars"]] == ["ok"] * 6
    assert [bar["state"] for bar in b["bars"]] == ["ok"] * 4 + ["failed"]
    assert model["alreadyOut"] == ["c"]  # counted against the budget; an opted-out node is not out
    lane = model["lane"]
    counts = [(round((s["start"] - T0).total_seconds()), s["count"]) for s in lane]
    # c is out all along; a from its cordon (1s) to its uncordon's end (11s); b from 12s to the end (kept).
    assert counts == [(0, 1), (1, 2), (11, 1), (12, 2)]
    assert lane[-1]["end"] == model["t1"] and max(s["count"] for s in lane) <= model["budget"]
    page = timeline.render(model)
    assert page.count('class="node-row"') == 2 and 'http-equiv="refresh"' not in page
    assert 'data-step="wait healthy" data-seconds="20.000" data-state="failed"' in page


def test_a_running_node_has_a_growing_bar_and_the_page_refreshes():
    live = {"node": "a", "result": "", "steps": steps([("lock", 0, 1), ("cordon", 1, 1), ("drain", 2, None)])}
    model = timeline.build(status("Running"), [live], budget=1, now=T0 + timedelta(seconds=30))
    assert model["rows"][0]["bars"][-1] == {"step": "drain", "start": T0 + timedelta(seconds=2),
                                           "end": T0 + timedelta(seconds=30), "seconds": 28.0, "state": "running"}
    assert model["lane"][-1]["count"] == 1
    assert '<meta http-equiv="refresh"' in timeline.render(model)


def test_everything_from_the_api_is_escaped():
    skipped = [{"node": "x", "reason": "<script>alert(1)</script>"}]
    page = timeline.render(timeline.build(status(skipped=skipped, nodes=[]), [], budget=1, now=T0))
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_fleet_row_pending_nodes_next_run_and_window():
    progress = {"observed": {"cluster": {"nodeOsUpgradeChannel": "Unmanaged"},
                             "probe": {"at": "2026-12-01T02:00:00+00:00", "pending": ["n1", "n2"],
                                       "nodes": {"n1": {}, "n2": {}, "n3": {}}}},
                "nodes": {"n1": {"step": "patched", "at": "2026-12-01T02:05:00+00:00"}}, "cycles": []}
    lock = {"holders": {"h": {"node": "n2", "pool": "p", "acquiredAt": "t", "kept": "not healthy"}}}
    cfg = {**settings.load({}), "schedule": "0 30 * * * *", "windowStart": "22:00", "windowEnd": "04:00"}
    row = fleet.cluster_row(CLUSTER, cfg, progress, lock, None, now=T0)
    assert row["pendingReboot"] == {"nodes": ["n2"], "patchedSinceProbe": ["n1"],
                                    "probedAt": "2026-12-01T02:00:00+00:00", "probedNodes": 3}
    assert row["nextTimerRun"] == "2026-12-01T02:30:00+00:00"
    assert row["nodeOsUpgradeChannel"] == "Unmanaged" and row["lockHolders"][0]["kept"] == "not healthy"
    assert row["maintenanceWindow"] == {"source": "settings", "description": "every day 22:00-04:00 UTC",
                                        "open": True}  # 02:00 is inside 22:00-04:00
    later = fleet.cluster_row(CLUSTER, cfg, progress, lock, None, now=T0 + timedelta(hours=3))
    assert later["maintenanceWindow"]["nextOpen"] == "2026-12-01T22:00:00+00:00"
    page = fleet.render({"clusters": [row], "count": 1}, "http://127.0.0.1:7071")
    assert 'class="kept"' in page and "n2" in page
