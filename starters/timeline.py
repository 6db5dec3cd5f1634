"""The cycle timeline page: one row per node, a bar per step, and the "nodes out" lane.

Pure functions from what the API already returns (the cycle's status and output, and each node's
patch_node steps) to a self-contained HTML page: inline SVG and CSS, no script from anywhere,
no network. While the cycle runs the page reloads itself (meta refresh).
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from orchestrators.durable import RUNNING_STATUSES
from rebooter.outcomes import SHOWN_AS_FAILED, SHOWN_AS_STOPPED

STEPS = ("lock", "cordon", "drain", "reboot", "wait healthy", "uncordon")
# A skipped node counted as out for the whole cycle (it uses up the budget: README "Budget").
ALREADY_OUT = ("cordoned by someone else", "node is not Ready", "quarantined")
ROW, LEFT, WIDTH, LANE = 26, 190, 860, 60
PLOT = WIDTH - LEFT - 40  # width of the time axis; the rest is labels and margin
REFRESH_SECONDS = 3


def _time(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text)) if text else None
    except ValueError:
        return None


def build(status: dict[str, Any], nodes: list[dict[str, Any]], budget: int, now: datetime) -> dict[str, Any]:
    """The page's model: rows with bars (start, end, seconds, state), the out lane, the lists.

    ``nodes`` are node results or live patch_node statuses: {node, result?, steps, cordoned?}.
    """
    running = status.get("status") in RUNNING_STATUSES
    output = status.get("output") if isinstance(status.get("output"), dict) else {}
    custom = status.get("customStatus") if isinstance(status.get("customStatus"), dict) else {}
    rows = []
    for node in nodes:
        result = node.get("result") or ""
        bars = []
        steps = node.get("steps") or []
        for i, step in enumerate(steps):
            start = _time(step.get("startedAt"))
            if start is None:
                continue
            seconds = step.get("seconds")
            last = i == len(steps) - 1
            if seconds is None:
                state, end = ("running", now) if running else ("stopped", start)
            elif last and result in SHOWN_AS_FAILED:
                state = "failed"
            elif last and result in SHOWN_AS_STOPPED:
                state = "stopped"
            else:
                state = "ok"
            if seconds is not None:
                end = datetime.fromtimestamp(start.timestamp() + float(seconds), start.tzinfo)
            bars.append({"step": step.get("step", ""), "start": start, "end": end,
                         "seconds": float(seconds) if seconds is not None else (end - start).total_seconds(),
                         "state": state})
        rows.append({"node": node.get("node", ""), "result": result or "running", "reason": node.get("reason", ""),
                     "bars": bars, "staysOut": bool(node.get("cordoned") is True or node.get("lockKept"))})
    moments = [b["start"] for r in rows for b in r["bars"]] + [b["end"] for r in rows for b in r["bars"]]
    created = _time(str(status.get("createdTime") or "")) or now
    t0 = min(moments + [created])
    t1 = max(moments + [now if running else (_time(str(status.get("lastUpdatedTime") or "")) or t0)])
    skipped = list(output.get("skipped", custom.get("skipped", [])))
    already_out = [s["node"] for s in skipped if any(k in s.get("reason", "") for k in ALREADY_OUT)]
    return {"id": status.get("id", ""), "status": status.get("status", ""), "outcome": output.get("outcome", ""),
            "reason": output.get("reason", ""), "cluster": output.get("cluster", custom.get("cluster", "")),
            "running": running, "t0": t0, "t1": t1, "rows": rows, "budget": budget, "skipped": skipped,
            "notApplicable": list(output.get("notApplicable", custom.get("notApplicable", []))),
            "upToDate": list(output.get("upToDate", [])), "alreadyOut": already_out,
            "lane": out_lane(rows, len(already_out), t0, t1)}


def out_lane(rows: list[dict[str, Any]], already_out: int, t0: datetime, t1: datetime) -> list[dict[str, Any]]:
    """How many nodes are out at each moment: ours from the start of the cordon to the end of the
    node's last step (to the end of the cycle when it stays cordoned), plus those already out."""
    edges: list[tuple[datetime, int]] = []
    for row in rows:
        cordon = next((b for b in row["bars"] if b["step"] == "cordon"), None)
        if cordon is None:
            continue
        end = t1 if row["staysOut"] else max(b["end"] for b in row["bars"])
        edges += [(cordon["start"], 1), (end, -1)]
    points = sorted({t0, t1, *(t for t, _ in edges)})
    lane = []
    for start, end in zip(points, points[1:], strict=False):
        count = already_out + sum(d for t, d in edges if t <= start)
        lane.append({"start": start, "end": end, "count": count})
    return lane


def _x(model: dict[str, Any], moment: datetime) -> float:
    span = max((model["t1"] - model["t0"]).total_seconds(), 1.0)
    return LEFT + (moment - model["t0"]).total_seconds() / span * PLOT


def _ticks(model: dict[str, Any]) -> list[float]:
    span = max((model["t1"] - model["t0"]).total_seconds(), 1.0)
    step = next(s for s in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400)
                if span / s <= 10)
    return [i * step for i in range(int(span // step) + 1)]


def _svg(model: dict[str, Any]) -> str:
    rows = model["rows"]
    top = 30
    height = top + ROW * len(rows) + LANE + 40
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" role="img" '
             f'aria-label="steps per node over time">']
    for offset in _ticks(model):
        x = LEFT + offset / max((model["t1"] - model["t0"]).total_seconds(), 1.0) * PLOT
        parts.append(f'<line class="tick" x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - 20}"/>'
                     f'<text class="axis" x="{x:.1f}" y="{top - 10}">+{offset:g}s</text>')
    for i, row in enumerate(rows):
        y = top + i * ROW
        parts.append(f'<g class="node-row" data-node="{escape(row["node"])}" data-result="{escape(row["result"])}">'
                     f'<text class="label" x="4" y="{y + 17}">{escape(row["node"])}</text>')
        for bar in row["bars"]:
            x1, x2 = _x(model, bar["start"]), _x(model, bar["end"])
            cls = f'bar step-{bar["step"].replace(" ", "-")} {bar["state"]}'
            parts.append(f'<rect class="{cls}" data-step="{escape(bar["step"])}" data-seconds="{bar["seconds"]:.3f}" '
                         f'data-state="{bar["state"]}" x="{x1:.1f}" y="{y + 4}" width="{max(x2 - x1, 2):.1f}" '
                         f'height="{ROW - 8}"><title>{escape(row["node"])}: {escape(bar["step"])} '
                         f'{bar["seconds"]:.1f}s ({bar["state"]})</title></rect>')
            if x2 - x1 > 7 * len(bar["step"]):
                parts.append(f'<text class="in-bar" x="{x1 + 3:.1f}" y="{y + 17}">{escape(bar["step"])}</text>')
        parts.append("</g>")
    lane_top = top + ROW * len(rows) + 14
    scale = (LANE - 10) / max(model["budget"], max((s["count"] for s in model["lane"]), default=0), 1)
    budget_y = lane_top + LANE - model["budget"] * scale
    parts.append(f'<text class="label" x="4" y="{lane_top + LANE / 2}">nodes out</text>'
                 f'<g class="lane" data-budget="{model["budget"]}">')
    for seg in model["lane"]:
        x1, x2 = _x(model, seg["start"]), _x(model, seg["end"])
        over = " over" if seg["count"] > model["budget"] else ""
        parts.append(f'<rect class="out{over}" data-count="{seg["count"]}" x="{x1:.1f}" '
                     f'y="{lane_top + LANE - seg["count"] * scale:.1f}" width="{max(x2 - x1, 0.5):.1f}" '
                     f'height="{seg["count"] * scale:.1f}"><title>{seg["count"]} out</title></rect>')
    parts.append(f'<line class="budget" x1="{LEFT}" y1="{budget_y:.1f}" x2="{LEFT + PLOT}" y2="{budget_y:.1f}"/>'
                 f'<text class="axis" x="{LEFT + PLOT - 50}" y="{budget_y - 3:.1f}">budget {model["budget"]}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


CSS = """
body{font:14px system-ui,sans-serif;margin:16px;color:#222}h1{font-size:18px}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}.label,.axis,.in-bar{font-size:11px}
.axis{fill:#666}.in-bar{fill:#fff;pointer-events:none}.tick{stroke:#eee}
.bar.ok{fill:#2e7d32}.bar.step-lock.ok{fill:#90a4ae}.bar.failed{fill:#c62828}.bar.running{fill:#1565c0}
.bar.stopped{fill:#ef6c00}.out{fill:#7e57c2}.out.over{fill:#c62828}.budget{stroke:#c62828;stroke-dasharray:4 3}
.legend span{display:inline-block;padding:1px 6px;margin-right:6px;color:#fff}
"""


def render(model: dict[str, Any]) -> str:
    """The whole page; every value from the API is escaped."""
    refresh = f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">' if model["running"] else ""
    state = escape(" / ".join(x for x in (model["status"], model["outcome"]) if x))
    lists = []
    for title, items, key in (("Skipped", model["skipped"], "node"), ("Not applicable", model["notApplicable"], "pool")):
        body = "".join(f'<tr class="{key}-reason"><td>{escape(str(i.get(key, "")))}</td><td>{escape(str(i.get("reason", "")))}'
                       f"</td></tr>" for i in items) or '<tr><td colspan="2">none</td></tr>'
        lists.append(f"<h2>{title}</h2><table class=\"{key}s\"><tr><th>{key}</th><th>reason</th></tr>{body}</table>")
    if model["upToDate"]:
        lists.append(f"<p>Up to date (no reboot needed): {escape(', '.join(model['upToDate']))}</p>")
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">{refresh}'
            f"<title>Patch cycle {escape(model['id'])}</title><style>{CSS}</style></head><body>"
            f"<h1>Patch cycle {escape(model['id'])}</h1>"
            f'<p>cluster {escape(model["cluster"])}<br>status <b id="state">{state}</b> {escape(model["reason"])}<br>'
            f"from {model['t0'].isoformat(timespec='seconds')} to {model['t1'].isoformat(timespec='seconds')}"
            f"{' (refreshing)' if model['running'] else ''}</p>"
            '<p class="legend"><span style="background:#2e7d32">ok</span><span style="background:#90a4ae">lock wait'
            '</span><span style="background:#1565c0">running</span><span style="background:#c62828">failed</span>'
            '<span style="background:#ef6c00">cancelled / skipped</span><span style="background:#7e57c2">nodes out'
            f"</span></p>{_svg(model)}{''.join(lists)}</body></html>")
