"""Terminal output of the local runner: live progress, run history, the sandbox's invariants.

Everything here goes through the app's own HTTP API (the same calls an operator makes), so
the demo shows what the API really returns.
"""

from __future__ import annotations

import time
from typing import Any

import requests
from rich.console import Console
from rich.table import Table

TERMINAL = {"Completed", "Failed", "Terminated", "Canceled"}


def console() -> Console:
    probe = Console()
    return Console(highlight=False, width=None if probe.is_terminal else 160)


def start_cycle(base_url: str, cluster: str, reason: str, **body: Any) -> dict[str, Any]:
    response = requests.post(f"{base_url}/api/patch-cycles", json={"cluster": cluster, "reason": reason, **body},
                             timeout=30)
    if response.status_code != 202:
        raise RuntimeError(f"POST /api/patch-cycles answered {response.status_code}: {response.text}")
    return response.json()


def api_get(base_url: str, path: str, **params: Any) -> dict[str, Any]:
    response = requests.get(f"{base_url}/api/{path}", params=params, timeout=30)
    if response.status_code != 200:
        raise RuntimeError(f"GET /api/{path} answered {response.status_code}: {response.text}")
    return response.json()


def print_runs(out: Console, page: dict[str, Any]) -> None:
    table = Table("started", "id", "status / outcome", "patched", "failed", "skipped")
    for run in page.get("runs", []):
        summary = run.get("summary") or {}
        table.add_row(str(run.get("startedAt", ""))[:19], run.get("id", ""),
                      " / ".join(x for x in (run.get("status"), run.get("outcome")) if x),
                      str(summary.get("patched", "")), str(summary.get("failed", "")), str(summary.get("skipped", "")))
    out.print(table)
    out.print(f"{page.get('count', 0)} run(s)")


def get_status(base_url: str, instance_id: str) -> dict[str, Any]:
    response = requests.get(f"{base_url}/api/patch-cycles/{instance_id}", timeout=30)
    response.raise_for_status()
    return response.json()


def _line(status: dict[str, Any]) -> str:
    custom = status.get("customStatus") or {}
    parts = [f"{status.get('status')}", f"step: {custom.get('step', '-')}",
             f"{custom.get('done', 0)}/{custom.get('total', 0)} nodes"]
    for node, child in (status.get("currentNodeStatus") or {}).items():
        parts.append(f"{node}: {(child or {}).get('step', '-')}")
    return " | ".join(parts)


def follow(out: Console, base_url: str, instance_id: str, timeout: float = 300, poll: float = 0.25) -> dict[str, Any]:
    """Print each change of the cycle's status until it ends; return the final status."""
    deadline = time.monotonic() + timeout
    last = ""
    started = time.monotonic()
    while True:
        status = get_status(base_url, instance_id)
        line = _line(status)
        if line != last:
            out.print(f"[dim]{time.monotonic() - started:6.1f}s[/] {line}")
            last = line
        if status.get("status") in TERMINAL:
            return status
        if time.monotonic() > deadline:
            raise TimeoutError(f"patch cycle {instance_id} did not finish within {timeout:.0f}s: {line}")
        time.sleep(poll)


def print_history(out: Console, status: dict[str, Any]) -> None:
    result = status.get("output") or {}
    out.print(f"\n[bold]Patch cycle {status.get('id')}[/]: {status.get('status')}, outcome "
              f"[bold]{result.get('outcome', '-')}[/] {result.get('reason', '')}")
    table = Table("node", "pool", "result", "steps (seconds)", "boot ID before -> after", "kernel before -> after")
    for node in result.get("nodes", []):
        steps = ", ".join(f"{s['step']} {s.get('seconds', 0):.1f}" for s in node.get("steps", []))
        before, after = node.get("before", {}), node.get("after", {})
        table.add_row(node["node"], node.get("pool", ""), f"{node['result']} {node.get('reason', '')}".strip(), steps,
                      f"{before.get('bootId', '')[:8]} -> {after.get('bootId', '')[:8]}",
                      f"{before.get('kernel', '')} -> {after.get('kernel', '')}")
    out.print(table)
    for skipped in result.get("skipped", []):
        out.print(f"skipped {skipped['node']}: {skipped['reason']}")
    for pool in result.get("notApplicable", []):
        out.print(f"not applicable: pool {pool['pool']}: {pool['reason']}")
    if result.get("upToDate"):
        out.print(f"up to date (no reboot needed): {', '.join(result['upToDate'])}")


def print_invariants(out: Console, sandbox: Any, budget: int) -> bool:
    """The sandbox's safety report over the whole run; True when every invariant held.

    The budget counts every node out of service, including those already out by someone
    else's hand; ours alone are reported too.
    """
    from lab.sandbox import invariants

    everyone = invariants.max_unavailable(sandbox.timeline)
    ours = invariants.max_unavailable(sandbox.timeline, exclude_foreign=True)
    broken = invariants.pdb_violations(sandbox.timeline)
    undone = invariants.foreign_cordons_undone(sandbox.timeline, sandbox.scenario)
    checks = [
        (everyone.count <= budget, f"most nodes out at once, all causes: {everyone.count} (budget {budget})"
                                   f"{' ' + ', '.join(everyone.nodes) if everyone.nodes else ''}"),
        (ours.count <= 1, f"most nodes out at once by this app: {ours.count}"
                          f"{' ' + ', '.join(ours.nodes) if ours.nodes else ''}"),
        (not broken, f"PodDisruptionBudgets broken: {len(broken)}"),
        (not undone, f"nodes cordoned by someone else that we uncordoned: {len(undone)}"),
    ]
    out.print("\n[bold]Sandbox invariants[/]")
    for ok, text in checks:
        out.print(f"  {'[green]ok[/]' if ok else '[red]VIOLATED[/]'}  {text}")
    return all(ok for ok, _ in checks)
