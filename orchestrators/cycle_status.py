"""The cycle's custom status and summary (CycleStatus), beside node_run.py's NodeRun for one node.

Deterministic like the orchestrator that owns it: time comes from the context only.
"""

from __future__ import annotations

import logging
from typing import Any

from orchestrators.context import OrchestrationContext
from orchestrators.durable import seconds_between
from rebooter import outcomes
from rebooter.config import logs

log = logging.getLogger("rebooter.orchestrators")


MAX_SHOWN = 50  # skipped nodes named in the custom status (the summary names them all)


class CycleStatus:
    """The cycle's custom status, shown in the portal: where we are and what was decided.

    ``results`` are this execution's node results. A cycle that continued as new keeps the
    earlier executions' results in the progress entity's ledger (entities/progress.py) and only
    a bounded ``tally`` of every result here (counts, and what the failure policy reads);
    ``take_back`` puts them in front of this execution's results once, for the summary."""

    def __init__(self, context: OrchestrationContext, cluster_id: str, reason: str) -> None:
        self.context = context
        self.cluster = cluster_id
        self.reason = reason
        self.total = 0
        self.results: list[dict[str, Any]] = []
        self.skipped: list[dict[str, str]] = []
        self.not_applicable: list[dict[str, str]] = []
        self.up_to_date: list[str] = []
        self.current: list[str] = []
        self.current_step = ""
        self.started = context.current_utc_datetime
        self.tally: dict[str, Any] = _tally([])  # of every node done, earlier executions' included
        # Skipped and up-to-date nodes whose lists wait in the ledger, and the first few skipped.
        self.skipped_elsewhere = 0
        self.up_to_date_elsewhere = 0
        self.shown: list[dict[str, str]] | None = None  # the skipped nodes named while the list is away

    def counts(self) -> dict[str, int]:
        tally = self.tally
        return {"total": self.total, "patched": tally["patched"], "failed": tally["done"] - tally["patched"],
                "skipped": self.skipped_elsewhere + len(self.skipped),
                "upToDate": self.up_to_date_elsewhere + len(self.up_to_date)}

    def _shown(self) -> list[dict[str, str]]:
        return (self.skipped if self.shown is None else self.shown + self.skipped)[:MAX_SHOWN]

    def _publish(self) -> None:
        self.context.set_custom_status(
            {
                "cluster": self.cluster,
                "step": self.current_step,
                "currentNodes": self.current,
                "done": self.tally["done"],
                "total": self.total,
                "skipped": self._shown(),
                "skippedCount": self.skipped_elsewhere + len(self.skipped),
                "notApplicable": self.not_applicable,
                "reason": self.reason,
            }
        )

    def hand_over(self) -> dict[str, Any]:
        """What this execution gives the ledger: its results without their steps (each node's
        steps stay in its patch_node instance and in the logs)."""
        return {"results": [{k: v for k, v in r.items() if k != "steps"} for r in self.results]}

    def snapshot(self) -> dict[str, Any]:
        """What a continued execution carries: counts and the failure policy's tally, bounded
        however many nodes are done (the lists went to the ledger with ``hand_over``)."""
        counts = self.counts()
        return {"tally": self.tally, "total": self.total, "notApplicable": self.not_applicable,
                "skippedShown": self._shown(), "skippedCount": counts["skipped"], "upToDateCount": counts["upToDate"]}

    def restore(self, state: dict[str, Any]) -> None:
        if "results" in state:  # carried by an earlier version of the app (the lists themselves)
            self.results, self.skipped = list(state["results"]), list(state.get("skipped", []))
            self.up_to_date, self.tally = list(state.get("upToDate", [])), _tally(state["results"])
        else:
            self.tally = _tally([], state.get("tally"))
        self.total = int(state.get("total", 0))
        self.not_applicable = list(state.get("notApplicable", []))
        self.shown = list(state.get("skippedShown", []))
        self.skipped_elsewhere = int(state.get("skippedCount", 0))
        self.up_to_date_elsewhere = int(state.get("upToDateCount", 0))

    def take_back(self, ledger: dict[str, Any]) -> None:
        """The earlier executions' lists, from the ledger, in front of this execution's."""
        self.results = list(ledger.get("results", [])) + self.results
        self.skipped = list(ledger.get("skipped", [])) + self.skipped
        self.up_to_date = list(ledger.get("upToDate", [])) + self.up_to_date
        self.skipped_elsewhere, self.up_to_date_elsewhere, self.shown = 0, 0, None

    def step(self, name: str, current: list[str] | None = None) -> None:
        self.current_step = name
        self.current = current or []
        self._publish()

    def add_result(self, result: dict[str, Any]) -> None:
        self.results.append(result)
        self.tally = _tally([result], self.tally)
        self._publish()

    def finish(self, outcome: outcomes.CycleOutcome, reason: str = "", **extra: Any) -> dict[str, Any]:
        if not self.context.is_replaying:
            logs.event(log, "cycle", logging.WARNING if outcome in outcomes.CYCLE_WARNED else logging.INFO,
                       cluster=self.cluster, instanceId=self.context.instance_id, result=outcome, reason=reason,
                       durationSeconds=seconds_between(self.started, self.context.current_utc_datetime),
                       **self.counts())
        self.current_step = outcome
        self.current = []
        self._publish()
        return {
            "cluster": self.cluster,
            "outcome": outcome,
            "reason": reason,
            "counts": self.counts(),
            "nodes": self.results,
            "skipped": self.skipped,
            "notApplicable": self.not_applicable,
            "upToDate": self.up_to_date,
            **extra,
        }


def _tally(results: list[dict[str, Any]], earlier: dict[str, Any] | None = None) -> dict[str, Any]:
    """Counts of node results, and the last halting and last blocked one (with their reasons):
    a fixed-size summary of any number of results, added to an earlier tally."""
    tally = {"done": 0, "patched": 0, "halting": 0, "quarantined": 0, "lastHalting": None, "lastBlocked": None,
             **(earlier or {})}
    for r in results:
        brief = {"node": r["node"], "result": r["result"], "reason": r.get("reason", "")}
        tally["done"] += 1
        tally["patched"] += r["result"] == outcomes.NodeResult.PATCHED
        if r["result"] in outcomes.HALTING:
            tally["halting"] += 1
            tally["lastHalting"] = brief
        tally["quarantined"] += r["result"] == outcomes.NodeResult.QUARANTINED
        if r["result"] == outcomes.NodeResult.BLOCKED:
            tally["lastBlocked"] = brief
    return tally
