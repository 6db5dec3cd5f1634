"""Soak: many seeded runs, then one table (runs, faults injected by kind, violations, failing seeds)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from lab.faultrun.generate import FAULT_KINDS
from lab.faultrun.known import classify
from lab.faultrun.run import Report, command


@dataclass
class Tally:
    runs: int = 0
    seconds: float = 0.0
    planned: Counter[str] = field(default_factory=Counter)  # runs that planned each fault kind
    fired_runs: Counter[str] = field(default_factory=Counter)  # runs where it acted at least once
    fired: Counter[str] = field(default_factory=Counter)  # how many times it acted in total
    violations: Counter[str] = field(default_factory=Counter)  # by check
    known: Counter[str] = field(default_factory=Counter)  # runs hitting each known issue
    failing: list[int] = field(default_factory=list)  # seeds with a violation no known issue explains
    known_seeds: list[int] = field(default_factory=list)  # seeds with known-issue violations only
    cycles: Counter[str] = field(default_factory=Counter)  # cycle outcomes

    def add(self, report: Report) -> None:
        self.runs += 1
        self.seconds += report.seconds
        self.planned.update(set(report.kinds))
        for kind, count in report.fired.items():
            self.fired[kind] += count
            if count:
                self.fired_runs[kind] += 1
        self.violations.update(v["check"] for v in report.violations)
        unknown, hit = classify(report)
        self.known.update(hit.keys())
        if unknown:
            self.failing.append(report.seed)
        elif hit:
            self.known_seeds.append(report.seed)
        self.cycles.update(c.get("outcome") or c["status"] for c in report.cycles)

    @property
    def total_violations(self) -> int:
        return sum(self.violations.values())

    def table(self) -> str:
        lines = [f"runs: {self.runs} ({self.seconds:.0f} s of runs)", "",
                 f"{'fault kind':<26}{'runs planned':>13}{'runs fired':>12}{'times fired':>13}"]
        for kind in FAULT_KINDS:
            lines.append(f"{kind:<26}{self.planned[kind]:>13}{self.fired_runs[kind]:>12}{self.fired[kind]:>13}")
        lines += ["", "cycle outcomes: " + (", ".join(f"{k} {v}" for k, v in sorted(self.cycles.items())) or "none"),
                  "", f"violations: {self.total_violations}"]
        lines += [f"  {check:<24}{count:>6}" for check, count in sorted(self.violations.items())]
        if self.known:
            lines.append("known app bugs hit (runs): " + ", ".join(f"{k} {v}" for k, v in sorted(self.known.items())))
            lines.append("  seeds with known bugs only: " + " ".join(map(str, self.known_seeds)))
        lines.append("failing seeds (unexplained violations): " + (" ".join(map(str, self.failing)) or "none"))
        lines += [f"  {command(seed)}" for seed in self.failing[:20]]
        return "\n".join(lines)


def soak(seeds: Iterable[int], workers: int = 2, progress: bool = True) -> Tally:
    """Run every seed on ``workers`` processes; print one line per run when ``progress``."""
    from lab.faultrun.pool import RunPool

    tally = Tally()
    began = time.monotonic()
    seeds = list(seeds)
    with RunPool(workers) as pool:
        futures = pool.submit_all(seeds)
        for seed in seeds:
            try:
                report = futures[seed].result()
            except Exception as exc:  # noqa: BLE001 - a dead worker is a failing seed, not the end of the soak
                report = Report(seed, [], violations=[{"check": "runner", "detail": str(exc)[:2000]}])
            tally.add(report)
            if progress:
                print(("ok   " if report.ok else "FAIL ") + report.summary(), flush=True)
                for violation in report.violations:  # what failed, so a soak log alone explains it
                    print(f"       - {violation['check']}: {str(violation['detail'])[:300]}", flush=True)
    if progress:
        print(f"\n{len(seeds)} runs in {time.monotonic() - began:.0f} s wall", flush=True)
    return tally
