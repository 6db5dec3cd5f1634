"""The seeded generator: valid, small, reproducible plans that cover every fault kind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from lab.faultrun.generate import FAULT_KINDS, HARNESS_KINDS, generate, primary_kind
from lab.sandbox import scenario as scenario_mod
from lab.sandbox.model import SCENARIO_FAULT_TYPES

ROOT = Path(__file__).resolve().parents[3]
SEEDS = range(1, 301)


def test_every_plan_is_a_valid_small_fast_scenario():
    for seed in SEEDS:
        plan = generate(seed)
        parsed = scenario_mod.load(plan.scenario)  # raises ScenarioError on any bad field
        linux = [p for p in parsed.pools if p.os_type == "Linux"]
        assert 1 <= len(linux) == len(parsed.pools) <= 3, seed
        assert 2 <= len(parsed.nodes) <= 5, seed
        timings = plan.scenario["timings"]
        assert all(0.05 <= timings[k] <= 0.3 for k in timings if k != "runCommandTimeoutSeconds"), seed
        assert any(n.reboot_required and not n.cordoned_by and n.ready for n in parsed.nodes), seed
        assert any(w.kind == "DaemonSet" for w in parsed.workloads), seed
        assert any(w.kind == "Deployment" and w.replicas >= 1 for w in parsed.workloads), seed
        assert 1 <= len(plan.faults) <= 2 and plan.kinds[0] == primary_kind(seed), seed
        sandbox_faults = [k for k in plan.kinds if k in SCENARIO_FAULT_TYPES]
        sandbox_faults += ["armError"] if "windowReadFails" in plan.kinds else []  # on maintenanceConfigurations
        assert sorted(f.type for f in parsed.faults) == sorted(sandbox_faults), seed
        assert int(plan.settings["REBOOTER_MAX_UNAVAILABLE"]) >= 1
        assert float(plan.settings["REBOOTER_HEALTH_TIMEOUT_SECONDS"]) <= 5, "a node that never comes back ends fast"


def test_plans_hold_what_the_faults_need():
    plans = [generate(seed) for seed in SEEDS]
    assert any(any(n.get("cordonedBy") for n in p.scenario["nodes"]) for p in plans)
    assert any(any(n.get("ready") is False for n in p.scenario["nodes"]) for p in plans)
    assert any(any(d.get("pdb") for d in p.scenario["workloads"]["deployments"]) for p in plans)
    assert any(p.scenario["workloads"].get("pods") for p in plans)
    for plan in plans:
        for fault in plan.faults:
            if fault["kind"] in ("nodeNeverReturns", "nodeReturnsNotReady"):
                facts = next(n for n in plan.scenario["nodes"] if n["node"] == fault["node"])
                assert facts.get("rebootRequired") and "cordonedBy" not in facts and facts.get("ready", True)
        if "controllerNeverRecreates" in plan.kinds:
            assert any(d["name"] == "stuck" for d in plan.scenario["workloads"]["deployments"])


def test_every_fault_kind_the_sandbox_supports_has_a_generator_and_any_15_seeds_cover_all():
    assert set(SCENARIO_FAULT_TYPES) <= set(FAULT_KINDS) and set(HARNESS_KINDS) <= set(FAULT_KINDS)
    for start in (1, 7, 100):
        assert {primary_kind(s) for s in range(start, start + len(FAULT_KINDS))} == set(FAULT_KINDS)


def test_a_seed_is_the_same_plan_in_another_process():
    seed = 23
    out = subprocess.run([sys.executable, "-m", "lab.faultrun", "generate", "--seed", str(seed)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60, check=True).stdout
    assert json.loads(out) == json.loads(json.dumps(generate(seed).to_dict()))
    assert generate(seed).to_dict() != generate(seed + 1).to_dict()
