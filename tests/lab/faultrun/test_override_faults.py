"""The configuration fault kinds (issue 11): per-cluster overrides and per-cycle overrides are
valid plans, load as the app would load them, and the refused override really loosens."""

from __future__ import annotations

import json

from lab.faultrun import overrides
from lab.faultrun.generate import generate
from rebooter.config import names, settings

SEEDS = range(1, 200)


def cluster_of(plan) -> str:
    return (f"/subscriptions/{'0' * 8}-0000-0000-0000-{'0' * 12}/resourceGroups/rg-faultrun/providers/"
            f"Microsoft.ContainerService/managedClusters/{plan.scenario['cluster']['name']}")


def plans_with(kind: str) -> list:
    return [p for p in (generate(s) for s in SEEDS) if kind in p.kinds]


def test_cluster_overrides_load_and_label_the_opted_out_node():
    plans = plans_with("clusterOverrides")
    assert len(plans) >= 10
    for plan in plans:
        fault = plan.harness("clusterOverrides")
        cluster_id = cluster_of(plan)
        app = settings.load({**plan.settings, "REBOOTER_CLUSTERS": cluster_id})
        mine = settings.for_cluster(app, cluster_id)
        assert mine["optOutLabel"] == overrides.OPT_OUT_LABEL and json.loads(
            plan.settings["REBOOTER_CLUSTER_OVERRIDES"])[names.parse_cluster_id(cluster_id).name] == fault["overrides"]
        if fault["optedOut"]:
            node = next(n for n in plan.scenario["nodes"] if n["node"] == fault["optedOut"])
            assert node["labels"][overrides.OPT_OUT_LABEL] == "true" and node.get("rebootRequired")
        assert overrides.budget(plan) <= int(plan.settings["REBOOTER_MAX_UNAVAILABLE"])


def test_cycle_overrides_are_one_refused_and_one_allowed_by_the_app_itself():
    plans = plans_with("cycleOverrides")
    assert len(plans) >= 10
    for plan in plans:
        fault = plan.harness("cycleOverrides")
        app = settings.load({**plan.settings, "REBOOTER_CLUSTERS": cluster_of(plan)})
        with_cluster = settings.for_cluster(app, cluster_of(plan))
        try:
            settings.apply_overrides(with_cluster, fault["refused"])
            raise AssertionError(f"seed {plan.seed}: {fault['refused']} was not refused")
        except settings.LooseningError as exc:
            assert exc.keys == [fault["refusedKey"]]
        settings.apply_overrides(with_cluster, fault["allowed"])
