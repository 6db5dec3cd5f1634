"""Fault kinds that play the operator's configuration (issue 11):

* ``clusterOverrides``: random per-cluster settings in ``REBOOTER_CLUSTER_OVERRIDES`` (own opt-out
  and pause labels, undrainable policy, reboot method, budget, back-off), with one node carrying
  the cluster's own opt-out label: it must never be cordoned or rebooted;
* ``cycleOverrides``: random per-cycle overrides on ``POST /api/patch-cycles``: first one that
  loosens safety, which must be refused with 403 naming it and start nothing, then one that only
  tightens, which must start the cycle.

Generation is pure (a ``random.Random``); the runner calls :func:`start_body` and :func:`check`.
"""

from __future__ import annotations

import json
import random
from typing import Any

KINDS = ("clusterOverrides", "cycleOverrides")
OPT_OUT_LABEL = "lab.faultrun.io/no-reboot"
PAUSE_LABEL = "lab.faultrun.io/hold"


def params(rng: random.Random, kind: str, settings: dict[str, str], eligible: list[str]) -> dict[str, Any]:
    """The fault's parameters, from the app settings the plan already chose."""
    if kind == "clusterOverrides":
        budget = int(settings["REBOOTER_MAX_UNAVAILABLE"])
        overrides: dict[str, Any] = {"optOutLabel": OPT_OUT_LABEL, "pauseLabel": PAUSE_LABEL,
                                     "maxUnavailable": max(1, budget - rng.choice([0, 0, 1]))}
        if rng.random() < 0.5:
            overrides["undrainablePolicy"] = rng.choice(["skip", "quarantine"])
        if rng.random() < 0.5:
            overrides["rebootMethod"] = rng.choice(["pod", "vmss"])
        if rng.random() < 0.5:
            overrides["drainRetrySeconds"] = rng.choice([0.25, 0.5])
        return {"overrides": overrides, "optedOut": eligible[-1] if len(eligible) > 1 else ""}
    if kind == "cycleOverrides":
        looser = [("disableEviction", True), ("maxFailedNodes", 1000), ("approvalDefault", "approve"),
                  ("maxUnavailable", 100), ("drainPodSelector", "app=web")]
        if settings.get("REBOOTER_UNDRAINABLE_POLICY") != "force":
            looser.append(("undrainablePolicy", "force"))
        key, value = rng.choice(looser)
        tighter = {"undrainablePolicy": "skip", "maxFailedNodes": 1, "disableEviction": False,
                   "soakSeconds": rng.choice([0.1, 0.25]), "drainDelaySeconds": rng.choice([0.0, 0.1]),
                   "rebootDelaySeconds": rng.choice([0.0, 0.1])}
        allowed = dict(rng.sample(sorted(tighter.items()), rng.randint(1, 4)))
        return {"refused": {**dict(rng.sample(sorted(allowed.items()), 1)), key: value}, "refusedKey": key,
                "allowed": allowed}
    raise ValueError(kind)


def apply(plan_settings: dict[str, str], scenario: dict[str, Any], fault: dict[str, Any]) -> None:
    """Write a clusterOverrides fault into the app settings and label its opted-out node."""
    if fault["kind"] != "clusterOverrides":
        return
    plan_settings["REBOOTER_CLUSTER_OVERRIDES"] = json.dumps({scenario["cluster"]["name"]: fault["overrides"]})
    for node in scenario["nodes"]:
        if node["node"] == fault["optedOut"]:
            node["labels"] = {**node.get("labels", {}), OPT_OUT_LABEL: "true"}


def budget(plan: Any) -> int:
    """The budget the checks hold the run to: the cluster's own when it overrides the app's."""
    fault = plan.harness("clusterOverrides")
    app = int(plan.settings["REBOOTER_MAX_UNAVAILABLE"])
    return min(app, int(fault["overrides"]["maxUnavailable"])) if fault else app


def refuse_then_start(run: Any, post: Any, body: dict[str, Any]) -> dict[str, Any]:
    """cycleOverrides: send the loosening overrides (must be a 403 naming the setting, and nothing
    starts), then return the body with the tightening ones for the real start."""
    fault = run.plan.harness("cycleOverrides")
    if fault is None:
        return body
    answer = post({**body, "overrides": fault["refused"]})
    field = answer.json().get("field") if answer.headers.get("content-type", "").startswith("application/json") \
        else None
    if answer.status_code != 403 or field != f"overrides.{fault['refusedKey']}":
        run.report.violations.append({"check": "override-refused", "detail": f"loosening {fault['refused']} "
                                      f"answered {answer.status_code} {answer.text[:300]}"})
    if run._status().get("status") != "HTTP 404":
        run.report.violations.append({"check": "override-refused", "detail": "a refused start started a cycle"})
    run.fired["cycleOverrides"] += 1
    return {**body, "overrides": fault["allowed"]}


def check(run: Any, initial: dict[str, dict[str, Any]], final: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """clusterOverrides: the node with the cluster's own opt-out label was never cordoned by the
    app nor rebooted (issue 11 item 4: activities used to read the app's label)."""
    fault = run.plan.harness("clusterOverrides")
    if fault is None or not fault["optedOut"]:
        return []
    run.fired["clusterOverrides"] += 1
    pool, index = fault["optedOut"].split("/")
    name = run.box.scenario.nodes_of(pool)[int(index)].name
    cordoned = [e for e in run.box.timeline.events("node") if e.get("node") == name and e.get("actor") != "scenario"
                and e.get("changes", {}).get("unschedulable", [None, None])[1] is True]
    rebooted = initial.get(name, {}).get("bootId") != final.get(name, {}).get("bootId")
    if cordoned or rebooted:
        return [{"check": "cluster-override", "detail": f"{name} carries the cluster's opt-out label {OPT_OUT_LABEL} "
                 f"but was {'cordoned' if cordoned else ''}{' and ' if cordoned and rebooted else ''}"
                 f"{'rebooted' if rebooted else ''}", "nodes": [name]}]
    return []
