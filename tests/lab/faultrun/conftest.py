"""The seeded runs of the default test run, shared by every test here.

All default seeds are submitted to a pool of worker processes (faultrun.pool) when the first
test asks for one, so they run side by side while the tests read their reports in order.
``FAULTRUN_WORKERS`` sets the number of processes (default 3: runs mostly wait on timers).
At the end of the session the figures (runs, faults by kind, violations) are printed.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import Future
from pathlib import Path

import pytest

from lab.faultrun.generate import FAULT_KINDS
from lab.faultrun.run import Report
from lab.faultrun.soak import Tally

# At least 40 seeded runs; every len(FAULT_KINDS) consecutive seeds plan every fault kind as their
# primary fault, so twice that many seeds plan each at least twice.
DEFAULT_SEEDS = tuple(range(1, 2 * len(FAULT_KINDS) + 1))
RUN_TIMEOUT = 240  # seconds a test waits for its seed (queueing behind other seeds included)


def run_kept_plan(name: str) -> Report:
    """Run the plan kept verbatim as plans/<name> on a worker of its own (not queued behind the
    default seeds); its report."""
    from lab.faultrun.pool import RunPool

    plan = json.loads((Path(__file__).parent / "plans" / name).read_text())
    with RunPool(1) as pool:
        return pool.submit(plan["seed"], plan=plan).result(timeout=RUN_TIMEOUT)


class FaultRuns:
    def __init__(self) -> None:
        from lab.faultrun.pool import RunPool

        self.pool = RunPool(int(os.environ.get("FAULTRUN_WORKERS", "3")))
        self.futures: dict[int, Future[Report]] = self.pool.submit_all(DEFAULT_SEEDS)
        self.tally = Tally()
        self._added: set[int] = set()

    def report(self, seed: int) -> Report:
        report = self.futures[seed].result(timeout=RUN_TIMEOUT)
        if seed not in self._added:
            self._added.add(seed)
            self.tally.add(report)
        return report

    def all(self) -> list[Report]:
        return [self.report(seed) for seed in DEFAULT_SEEDS]


_runs: FaultRuns | None = None


@pytest.fixture(scope="session")
def fault_runs():
    global _runs
    _runs = FaultRuns()
    yield _runs
    _runs.pool.close()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _runs is not None and _runs.tally.runs:
        terminalreporter.section("fault runs (reproduce one: python -m lab.faultrun run --seed N)")
        for line in _runs.tally.table().splitlines():
            terminalreporter.write_line(line)
