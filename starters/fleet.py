"""The fleet view: every configured cluster at a glance, as JSON and as a self-contained page.

Per cluster: node OS channel (from the last describe), last cycle and its outcome, nodes pending a
reboot (from the last probe, kept in the progress entity), lock holders (kept slots marked), the
next timer run (REBOOTER_SCHEDULE, NCRONTAB with seconds first) and the maintenance window.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any

from croniter import croniter

from rebooter.config import names
from rebooter.outcomes import NodeResult
from rebooter.policy import window_settings, windows


def next_timer_run(schedule: str, now: datetime) -> str:
    """The next time the timer trigger fires: a 6-field NCRONTAB has the seconds first
    (learn.microsoft.com/azure/azure-functions/functions-bindings-timer, "NCRONTAB expressions")."""
    seconds_first = len(schedule.split()) == 6
    return croniter(schedule, now, second_at_beginning=seconds_first).get_next(datetime).isoformat()


def window_summary(cfg: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The maintenance window as the next cycle will see it (source `aks` is read by that cycle)."""
    if cfg.get("windowSource") == "aks":
        return {"source": "aks", "description": "the cluster's AKS planned maintenance "
                                                "(aksManagedNodeOSUpgradeSchedule), read by each cycle"}
    try:
        window = window_settings.effective_window(cfg)
    except windows.WindowError as exc:
        return {"source": cfg.get("windowSource", "settings"), "description": f"invalid: {exc}"}
    opened = windows.is_open(window, now)
    summary = {"source": cfg.get("windowSource", "settings"), "description": window.describe(), "open": opened}
    if not opened:
        summary["nextOpen"] = windows.next_open(window, now).isoformat()
    return summary


def cluster_row(cluster_id: str, cfg: dict[str, Any], progress: dict[str, Any] | None, lock: dict[str, Any] | None,
                live: dict[str, Any] | None, now: datetime | None = None) -> dict[str, Any]:
    """One cluster's line; ``live`` is the cycle instance's status JSON (id, status, output) or None."""
    now = now or datetime.now(UTC)
    ref = names.parse_cluster_id(cluster_id)
    observed = (progress or {}).get("observed", {})
    probe = observed.get("probe") or {}
    described = observed.get("cluster") or {}
    cycles = (progress or {}).get("cycles", [])
    last: dict[str, Any] | None = None
    if live:
        output = live.get("output") if isinstance(live.get("output"), dict) else {}
        last = {"id": live.get("id"), "status": live.get("status"), "outcome": output.get("outcome", ""),
                "reason": output.get("reason", ""), "startedAt": str(live.get("createdTime") or ""),
                "updatedAt": str(live.get("lastUpdatedTime") or ""), "counts": output.get("counts")}
    elif cycles:
        c = cycles[-1]
        last = {"id": c.get("instanceId"), "status": None, "outcome": c.get("status", ""), "reason": "",
                "startedAt": c.get("startedAt"), "updatedAt": c.get("at"), "counts": c.get("summary")}
    holders = [{"holder": h, "node": v.get("node", ""), "pool": v.get("pool", ""), "since": v.get("acquiredAt", ""),
                "kept": v.get("kept") or None} for h, v in sorted(((lock or {}).get("holders") or {}).items())]
    return {
        "cluster": cluster_id, "name": ref.name, "key": ref.key,
        "nodeOsUpgradeChannel": described.get("nodeOsUpgradeChannel") or None,
        "kubernetesVersion": described.get("kubernetesVersion") or None,
        "lastCycle": last,
        "pendingReboot": _pending(probe, (progress or {}).get("nodes", {})) if probe else None,
        "lockHolders": holders,
        "nextTimerRun": next_timer_run(cfg["schedule"], now),
        "maintenanceWindow": window_summary(cfg, now),
        "paused": bool(cfg.get("paused")),
    }


def _pending(probe: dict[str, Any], nodes: dict[str, Any]) -> dict[str, Any]:
    """Nodes the last probe found pending, less those patched since (kured_reboot_required would
    drop to 0 once they are back); the probe's own answer stays visible."""
    since = str(probe.get("at") or "")
    patched = sorted(n for n in probe.get("pending", []) if (nodes.get(n) or {}).get("step") == NodeResult.PATCHED
                     and str((nodes.get(n) or {}).get("at") or "") >= since)
    return {"nodes": [n for n in probe.get("pending", []) if n not in patched], "patchedSinceProbe": patched,
            "probedAt": probe.get("at"), "probedNodes": len(probe.get("nodes", {}))}


CSS = """
body{font:14px system-ui,sans-serif;margin:16px;color:#222}h1{font-size:18px}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}.pending{color:#c62828;font-weight:600}
.kept{color:#c62828}.ok{color:#2e7d32}.muted{color:#777}
"""


def _cell(value: Any, cls: str = "") -> str:
    return f'<td class="{cls}">{escape(str(value)) if value not in (None, "") else "<span class=muted>-</span>"}</td>'


def render(page: dict[str, Any], base: str, key_suffix: str = "") -> str:
    """The fleet page: a row per cluster, links to each last cycle's timeline."""
    rows = []
    for c in page["clusters"]:
        last = c["lastCycle"] or {}
        cycle = "-"
        if last.get("id"):
            state = " / ".join(x for x in (last.get("status"), last.get("outcome")) if x)
            href = last.get("timelineUrl") or f"{base}/api/patch-cycles/{last['id']}/timeline{key_suffix}"
            cycle = (f'<a class="timeline" href="{escape(href)}">{escape(state or "?")}</a>'
                     f'<br><span class="muted">{escape(str(last.get("startedAt") or ""))[:19]}</span>'
                     f'{"<br>" + escape(last["reason"]) if last.get("reason") else ""}')
        pending = c["pendingReboot"]
        pending_html = "<span class=muted>not probed yet</span>" if pending is None else (
            f'<span class="pending">{len(pending["nodes"])}</span>: {escape(", ".join(pending["nodes"]))}'
            if pending["nodes"] else f'<span class="ok">0</span> of {pending["probedNodes"]}')
        holders = "<br>".join(f'<span class="{"kept" if h["kept"] else ""}">{escape(h["node"] or h["holder"])}'
                              f'{" (kept: " + escape(str(h["kept"])) + ")" if h["kept"] else ""}</span>'
                              for h in c["lockHolders"]) or "<span class=muted>free</span>"
        window = c["maintenanceWindow"]
        window_text = escape(window["description"]) + (
            " <b>open</b>" if window.get("open") else f'<br>opens {escape(window.get("nextOpen", ""))[:19]}'
            if window.get("nextOpen") else "")
        rows.append(f'<tr class="cluster" data-cluster="{escape(c["cluster"])}"><td><b>{escape(c["name"])}</b><br>'
                    f'<span class="muted">{escape(c["key"])}</span></td>{_cell(c["nodeOsUpgradeChannel"])}'
                    f'<td class="last-cycle">{cycle}</td><td class="pending-reboot">{pending_html}</td>'
                    f'<td class="lock">{holders}</td>{_cell(c["nextTimerRun"][:19], "next-run")}'
                    f'<td class="window">{window_text}</td></tr>')
    more = ""
    if page.get("continuationToken"):
        more = (f'<p><a href="{escape(base)}/api/clusters?format=html&amp;continuationToken='
                f'{escape(page["continuationToken"])}{escape(key_suffix.replace("?", "&", 1))}">next page</a></p>')
    body = "".join(rows) or '<tr><td colspan="7">no cluster configured (REBOOTER_CLUSTERS)</td></tr>'
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>rebooter fleet</title>'
            f"<style>{CSS}</style></head><body><h1>Fleet: {page['count']} cluster(s)</h1>"
            "<table><tr><th>cluster</th><th>node OS channel</th><th>last cycle</th><th>pending reboot</th>"
            f"<th>lock holders</th><th>next timer run (UTC)</th><th>maintenance window</th></tr>{body}</table>"
            f"{more}</body></html>")
