"""One vocabulary of outcomes (rebooter.outcomes): plain strings on the wire, one spelling in the code."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import azure.functions as func

from rebooter.outcomes import CycleOutcome, NodeResult, Verdict
from starters import cycles

ROOT = Path(__file__).resolve().parents[2]
APP = ("orchestrators", "activities", "starters", "entities", "rebooter")
CLUSTER = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-a/providers/"
           "Microsoft.ContainerService/managedClusters/aks-x")


def test_outcomes_travel_as_plain_strings():
    assert json.dumps({"result": NodeResult.PATCHED, "outcome": CycleOutcome.DRY_RUN}) == \
        '{"result": "patched", "outcome": "dry-run"}'
    assert NodeResult("undrainable") is NodeResult.UNDRAINABLE and f"{Verdict.WAIT}" == "wait"


def test_no_orchestrator_spells_a_result_or_an_outcome_as_a_literal():
    """Results are passed as NodeResult / CycleOutcome members, never retyped as strings."""
    values = "|".join(re.escape(v) for v in {*NodeResult, *CycleOutcome})
    literal = re.compile(rf'(result|finish|_give_back\(run|fail_keeping_lock|record_cycle\(.*)\(?\s*"({values})"')
    found = [f"{path.relative_to(ROOT)}: {line.strip()}" for path in sorted((ROOT / "orchestrators").glob("*.py"))
             for line in path.read_text().splitlines() if literal.search(line)]
    assert found == []


class Progress:
    """A durable client whose progress entity holds one cycle of each outcome."""

    async def read_entity_state(self, entity):
        cycles_ = [{"instanceId": f"i-{o}", "startedAt": f"2026-01-01T00:0{i}:00+00:00", "status": str(o)}
                   for i, o in enumerate(CycleOutcome)]
        return type("State", (), {"entity_exists": True, "entity_state": {"cycles": cycles_}})()

    async def get_status(self, instance_id):
        return None


def test_every_cycle_outcome_can_be_listed_by_status(monkeypatch):
    """Regression: ?status=blocked was refused (400) although a cycle ends "blocked"."""
    monkeypatch.setenv("REBOOTER_CLUSTERS", CLUSTER)
    for outcome in CycleOutcome:
        req = func.HttpRequest("GET", "http://127.0.0.1/api/cycles", body=b"", params={"status": str(outcome)})
        answer = asyncio.run(cycles.http_list(req, Progress()))
        assert answer.status_code == 200, (outcome, answer.get_body())
        assert [r["outcome"] for r in json.loads(answer.get_body())["runs"]] == [outcome]
