"""Known app bugs the fault runs find, each with the symptom it leaves in a report.

The owners of the app's folders fix them; until then a violation matching one of these is
reported as known (the seeded test is marked xfail with the bug's text) while any other
violation in the same run still fails. Each entry: where the bug is, what happens, the fix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class KnownIssue:
    id: str
    where: str
    what: str
    fix: str
    matches: Callable[[dict[str, Any], Any], bool]  # (violation, report) -> bool

    def text(self) -> str:
        return f"{self.id} ({self.where}): {self.what} Proposed fix: {self.fix}"


# All five bugs the fault runs found on 2026-11-26 are fixed (probe-drops-nodes, start-race,
# terminated-child-crashes-cycle, probe-activity-failure-crashes-cycle,
# interrupted-reboot-left-cordoned); a new one goes here with its symptom until it is fixed.
KNOWN: tuple[KnownIssue, ...] = (
)


def _terminated_node(violation: dict[str, Any], report: Any) -> bool:
    return bool(report.terminated) and violation.get("node", "").endswith(report.terminated)


def _probe_activity_failed(violation: dict[str, Any]) -> bool:
    return violation["check"] == "crash" and any(f"'{name}' failed" in violation["detail"]
                                                 for name in ("fetch_probe_result", "probe_pool"))


def classify(report: Any) -> tuple[list[dict[str, Any]], dict[str, KnownIssue]]:
    """(violations no known issue explains, known issues hit) of a report."""
    unknown: list[dict[str, Any]] = []
    hit: dict[str, KnownIssue] = {}
    for violation in report.violations:
        issue = next((k for k in KNOWN if k.matches(violation, report)), None)
        if issue is None:
            unknown.append(violation)
        else:
            hit[issue.id] = issue
    return unknown, hit
