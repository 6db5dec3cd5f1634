"""The benchmark report: goals and verdicts, then the detail of every measurement (markdown from the
results that lab/bench/figures.py ``summarize`` completed). Every row says which engine produced it
(local engine + sandbox, local engine with fake activities, or the replay driver through the
production SDK) and whether a figure is measured or modelled.
"""

from __future__ import annotations

from typing import Any

from lab.bench.figures import fmt, hours, parent_cpu, scaling_rows, verdict_of


def markdown(results: dict[str, Any]) -> str:
    env = results["environment"]
    jobs = results["jobs"]
    out = ["# Benchmarks", ""]
    out.append(f"`{results['command']}` on {env['date']}: {env['uname']}; {env['cpuCount']} CPUs ({env['cpuModel']}); "
               f"Python {env['python']}; " + ", ".join(f"{k} {v}" for k, v in env["packages"].items()) + ".")
    git = results.get("git") or {}
    out.append(f"App code: commit {git.get('commit', '?')}"
               + (f", with uncommitted changes in {', '.join(git['dirty'])}" if git.get("dirty") else "") + ".")
    total = f"Total bench time {fmt(results.get('seconds'), 0)} s"
    if results.get("fullRun") and results.get("goalSeconds"):
        total += (f" ({fmt(results['seconds'] / 60, 1)} min): the goal of under {results['goalSeconds'] / 60:g} "
                  f"minutes is {verdict_of(results['seconds'], results['goalSeconds'])}")
    out.append(f"{total}. Jobs (seconds, 1-minute load average before -> after; "
               "other work on this machine shows up here): " + "; ".join(
                   f"{name} {v['job']['seconds']:.0f} s ({v['job']['loadBefore']} -> {v['job']['loadAfter']})"
                   for name, v in jobs.items() if isinstance(v, dict) and "job" in v) + ".")
    out += ["", "## Summary", "", "| measure | engine | result | goal | verdict | detail |", "| --- | --- | --- | --- | --- | --- |"]
    for row in results["summary"]:
        goal = row["goal"]
        verdict = verdict_of(row["result"], goal) if goal is not None else "reported"
        out.append(f"| {row['measure']} | {row['engine']} | {fmt(row['result'], 3)}{' ' + row['unit'] if row.get('unit') else ''}"
                   f" | {'<= ' + fmt(goal) if goal is not None else '-'} | {verdict} | {row['detail']} |")
    for job in ("overhead", "overhead-poll", "overhead-poll-20", "dispatch-0.05", "dispatch-1"):
        out += _overhead(jobs.get(job))
    out += _fanout(jobs.get("fanout")) + _fanout(jobs.get("fanout-poll")) + _scaling(results)
    out += _fleet(jobs.get("fleet")) + _fleet(jobs.get("fleet-50"))
    out += _profile(jobs.get("profile")) + _profile(jobs.get("profile-200")) + _kured(results.get("kured") or [])
    errors = {k: v["error"] for k, v in jobs.items() if isinstance(v, dict) and v.get("error")}
    if errors:
        out += ["", "## Jobs that failed", ""] + [f"- {k}: {v}" for k, v in errors.items()]
    return "\n".join(out) + "\n"


def _overhead(o: dict[str, Any] | None) -> list[str]:
    if not o or o.get("error"):
        return []
    b, split = o["bound"], o.get("overheadSplit") or {}
    how = "the app's default intervals" if o.get("poll") is None else f"every poll {o['poll']} s"
    if o.get("dispatchSeconds"):
        how += f", every orchestrator and entity dispatch {o['dispatchSeconds']:g} s late"
    lines = ["", f"## Overhead against the physical bound ({how})", "",
             f"{o['nodes']} nodes at concurrency 1 ({o['engine']}); cycle {o['status']}, {o['patched']} patched. "
             f"Physical bound from the sandbox timeline: drain {fmt(b['drainSeconds'])} s + reboot "
             f"{fmt(b['rebootSeconds'])} s + back to Ready {fmt(b['readySeconds'])} s = {fmt(b['physicalSeconds'])} s "
             f"({b['evictions']} evictions, {b['refusedEvictions']} refused by a PDB). From the scenario's timings "
             f"(termination + reboot per node) it would be {fmt(o['scenarioBoundSeconds'])} s (ratio "
             f"{fmt(o['ratioScenarioBound'], 3)}).", "",
             "| cycle wall | physical | ratio | discovery | inside nodes | between nodes | tail |",
             "| --- | --- | --- | --- | --- | --- | --- |",
             f"| {fmt(o['cycleSeconds'])} s | {fmt(o['physicalSeconds'])} s | {fmt(o['ratio'], 4)} | "
             f"{fmt(split.get('discoverySeconds'))} s | {fmt(split.get('insideNodesSeconds'))} s | "
             f"{fmt(split.get('betweenNodesSeconds'))} s | {fmt(split.get('tailSeconds'))} s |", "",
             "Ours inside each node, mean seconds (timeline): "
             + ", ".join(f"{k.split('.', 1)[1]} {v}" for k, v in split.items() if k.startswith("meanPerNode.")) + ".",
             _discovery_text(o),
             _invocations_text(o.get("invocations") or {}, o["nodes"]),
             _lateness_text(o.get("lateness") or {}),
             _modelled_text(o, split),
             "Mean seconds per patch_node step: " + ", ".join(f"{k} {v}" for k, v in o["stepMeans"].items()) + ".",
             "Scenario timings: " + ", ".join(f"{k} {v}" for k, v in o["timings"].items()) + ".",
             "App settings: " + ", ".join(f"{k}={v}" for k, v in o["settings"].items()) + "."]
    return lines


LONG_NODE = {"drain": 60.0, "reboot": 180.0, "ready": 60.0}  # the real-node shape, seconds


def _modelled_text(o: dict[str, Any], split: dict[str, Any]) -> str:
    """The cycle ratio for nodes of 60 s drain + 180 s reboot + 60 s back to Ready, from this run's
    measured per-node overhead (inside + between nodes, lateness included) and discovery: with
    event-driven waits the overhead does not grow with the node's own time."""
    nodes = o.get("nodes") or 0
    if not nodes or "insideNodesSeconds" not in split:
        return ""
    per_node = (split["insideNodesSeconds"] + split["betweenNodesSeconds"]) / nodes
    fixed = split["discoverySeconds"] + split["tailSeconds"]
    node = sum(LONG_NODE.values())
    ratios = [f"{n} nodes {(fixed + n * (node + per_node)) / (n * node):.3f}" for n in (20, 100)]
    return (f"Modelled for nodes of {LONG_NODE['drain']:g} s drain + {LONG_NODE['reboot']:g} s reboot + "
            f"{LONG_NODE['ready']:g} s back to Ready, from this run's {per_node:.2f} s per node and {fixed:.2f} s "
            f"discovery + tail: " + ", ".join(ratios) + ".")


def _lateness_text(late: dict[str, Any]) -> str:
    """How late the app acted on each event it waited for (bench.physical.lateness)."""
    parts = [f"{step} (pods gone -> drain step ended)" if step == "drain" else
             f"{step} (Ready with a new boot ID -> wait healthy ended, probe included)"
             for step in ("drain", "health") if late.get(step)]
    if not parts:
        return ""
    return "Lateness per step, seconds median / mean / max: " + "; ".join(
        f"{label} {late[label.split()[0]]['median']} / {late[label.split()[0]]['mean']} / {late[label.split()[0]]['max']}"
        for label in parts) + "."


def _discovery_text(o: dict[str, Any]) -> str:
    d = o.get("discovery") or {}
    rc = d.get("runCommands") or {}
    if not rc.get("commands"):
        return ""
    return (f"Discovery: custom status left \"probe pools\" after {fmt(d.get('leftProbePoolsSeconds'))} s; "
            f"{rc['commands']} run-commands, slowest {fmt(rc['commandSecondsMax'])} s submit to finish (script "
            f"{fmt(rc['scriptSecondsMax'])} s); ours {fmt(rc['startToFirstSubmitSeconds'])} s before the first submit "
            f"and {fmt(rc['lastFinishToDiscoveredSeconds'])} s after the last finish.")


def _invocations_text(counts: dict[str, Any], nodes: int) -> str:
    if not counts:
        return ""
    per = {k: sum(counts.get(k, {}).values()) / max(1, nodes) for k in ("episodes", "activities", "entityOperations")}
    top = sorted((counts.get("activities") or {}).items(), key=lambda kv: -kv[1])[:3]
    return (f"Invocations per node: {per['episodes']:.1f} episodes + {per['activities']:.1f} activities + "
            f"{per['entityOperations']:.1f} entity operations = {sum(per.values()):.1f} (most called: "
            + ", ".join(f"{k} {v / max(1, nodes):.1f}" for k, v in top) + "); engine CPU "
            f"orchestrators {fmt(sum((counts.get('orchestratorCpuSeconds') or {}).values()))} s, activities "
            f"{fmt(counts.get('activityCpuSeconds'))} s, entities {fmt(counts.get('entityCpuSeconds'))} s.")


def _fanout(f: dict[str, Any] | None) -> list[str]:
    if not f or f.get("error"):
        return []
    many, one = f["runCommands"]["manyPools"], f["runCommands"]["onePool"]
    how = "the app's default intervals" if f.get("poll") is None else f"every poll {f['poll']} s"
    return ["", f"## Run-command fan-out ({how})", "",
            f"Injected run-command latency L = {f['latencySeconds']} s (sandbox `runCommandLatencySeconds`), "
            f"{f['engine']}.", "",
            "| pools | discovery | / L | slowest command (submit to finish) | discovery / slowest | submit spread | "
            "script (max) | start to 1st submit | last finish to discovered | one after another |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
            f"| 1 | {fmt(f['singlePoolDiscoverySeconds'])} s | {fmt(f['singlePoolDiscoverySeconds'] / f['latencySeconds'], 3)}"
            f" | {fmt(one.get('commandSecondsMax'))} s | - | - | {fmt(one.get('scriptSecondsMax'))} s | "
            f"{fmt(one.get('startToFirstSubmitSeconds'))} s | {fmt(one.get('lastFinishToDiscoveredSeconds'))} s | - |",
            f"| {f['pools']} | {fmt(f['discoverySeconds'])} s | {fmt(f['ratioToLatency'], 3)} | "
            f"{fmt(many.get('commandSecondsMax'))} s | {fmt(f.get('ratioToSlowestCommand'), 3)} | "
            f"{fmt(many.get('submitSpreadSeconds'), 3)} s | {fmt(many.get('scriptSecondsMax'))} s | "
            f"{fmt(many.get('startToFirstSubmitSeconds'))} s | {fmt(many.get('lastFinishToDiscoveredSeconds'))} s | "
            f"{fmt(f['sequentialEstimateSeconds'])} s ({f['pools']} x one pool; {f['sequentialLatencyOnlySeconds']:.0f} s"
            " of latency alone) |"]


def _scaling(results: dict[str, Any]) -> list[str]:
    jobs = results["jobs"]
    lines = ["", "## Scaling: cost per patched node", "",
             "Fake activities (tests/replay/fakes.py: drain done in one pass, healthy at the second check, probe done "
             "at the second poll). Replay driver: app default settings on a virtual clock, 1 s per activity, SDK time "
             "measured around each orchestrator call. Local engine: every poll 0.01 s, thread CPU per episode. "
             "Invocations = orchestrator episodes + activities + entity operations.", "",
             "| engine | nodes | status | orch. CPU s (per node ms) | patch_cycle CPU s | episodes / node | "
             "history events / node | replayed events / node | activities / node | entity ops / node | "
             "invocations / node | patch_cycle history (events, bytes) | wall s | peak RSS MB |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in ("replay", "local"):
        for r in scaling_rows(jobs, name):
            per = r["perNode"]
            parent = (r.get("byOrchestrator") or {}).get("patch_cycle") or {}
            size = r.get("parentHistoryBytes") or (r.get("largestHistoryBytes") or {}).get("patch_cycle")
            status = r["status"] + (f" ({r['nodesDoneAtFailure']} done)" if r.get("failure") else "")
            lines.append(f"| {r['engine'].split(' (')[0]} | {r['nodes']:,} | {status} | {fmt(r['orchestratorCpuSeconds'])}"
                         f" ({fmt(per['orchestratorCpuSeconds'] * 1000, 1)}) | {fmt(parent_cpu(r))} | "
                         f"{fmt(per['episodes'], 1)} | {fmt(per['historyEvents'], 1)} | {fmt(per['replayedEvents'], 0)} | "
                         f"{fmt(per['activities'], 2)} | {fmt(per['entityOperations'], 2)} | {fmt(per['invocations'], 1)}"
                         f" | {parent.get('longestHistory', '-')}, {fmt(size)} | {fmt(r['wallSeconds'], 1)} | "
                         f"{fmt(r['peakRssMb'], 0)} |")
    lines += ["", "Fitted exponent k (total ~ nodes^k) over the runs that completed:", "",
              "| engine | sizes | orch. CPU | patch_cycle CPU | patch_node CPU | episodes | history events | "
              "replayed events | invocations |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, fit in results["fits"].items():
        lines.append(f"| {name} | {'/'.join(str(s) for s in fit.get('sizes') or [])} | "
                     + " | ".join(fmt(fit.get(k), 3) for k in ("orchestratorCpuSeconds", "parentCpuSeconds",
                                                               "childCpuSeconds", "episodes", "historyEvents",
                                                               "replayedEvents", "invocations")) + " |")
    for name, fit in (results.get("perEpisode") or {}).items():
        if fit:
            lines.append(f"\npatch_cycle per episode ({name}, largest completed run): {fit['microsecondsPerEvent']} µs per "
                         f"history event replayed + {fit['interceptMs']} ms (r² {fit['r2']}, {fit['episodes']} episodes).")
    biggest = (scaling_rows(jobs, "replay") or [None])[-1]
    if biggest:
        n = max(1, biggest["patched"])
        calls = ", ".join(f"{k} {v / n:.2f}" for k, v in sorted(biggest["activityCalls"].items()) if v >= n / 2)
        ents = ", ".join(f"{k} {v / n:.2f}" for k, v in sorted(biggest["entityOperationsByEntity"].items()))
        eps = ", ".join(f"{k} {v['episodes'] / n:.2f}" for k, v in biggest["byOrchestrator"].items())
        lines.append(f"\nInvocations per node at {biggest['nodes']:,} nodes (replay driver): episodes {eps}; "
                     f"activities {calls}; entity operations {ents}.")
    return lines


def _fleet(f: dict[str, Any] | None) -> list[str]:
    if not f or f.get("error"):
        return []
    a, b = f["alone"], f["fleet"]
    return ["", "## Fleet", "",
            f"{f['engine']}; each cluster {f['nodesPerCluster']} nodes, timings "
            + ", ".join(f"{k} {v}" for k, v in f["timings"].items()) + "; started by the timer function.", "",
            "| run | clusters | patched | first done | median | last done (total) | slowest physical | timer start | "
            "engine CPU s | engine peak RSS MB | sandbox CPU s (kubectl) | ARM calls |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"] + [
            f"| {label} | {r['clusters']} | {r['patched']} | {fmt(r['fastestSeconds'])} s | {fmt(r['medianSeconds'])} s | "
            f"{fmt(r['totalSeconds'])} s | {fmt(r['physicalSecondsMax'])} s | {fmt(r['timerSeconds'])} s | "
            f"{fmt(r['engineCpuSeconds'])} | {fmt(r['enginePeakRssMb'], 0)} | {fmt(r['sandbox'].get('cpuSeconds'))}"
            f" ({fmt(r['sandbox'].get('childCpuSeconds'))}) | {fmt(r['sandbox'].get('armCalls'))} |"
            for label, r in (("one alone", a), ("fleet", b))] + [""] + [
            f"CPU of the {label} run: engine {fmt(r['engineCpuSeconds'])} s (orchestrators "
            f"{fmt(sum((r['invocations'].get('orchestratorCpuSeconds') or {}).values()))} s, activities "
            f"{fmt(r['invocations'].get('activityCpuSeconds'))} s, entities {fmt(r['invocations'].get('entityCpuSeconds'))}"
            f" s, the rest gRPC, backend, HTTP), sandboxes {fmt(r['sandbox'].get('cpuSeconds'))} s + kubectl "
            f"{fmt(r['sandbox'].get('childCpuSeconds'))} s: {fmt(_cpu(r))} s in all, at least {fmt(_cpu(r) / 2)} s "
            f"on 2 CPUs. {_invocations_text(r['invocations'], r['patched'])}" for label, r in (("one alone", a), ("fleet", b))]


def _cpu(r: dict[str, Any]) -> float:
    return float(r["engineCpuSeconds"]) + float(r["sandbox"].get("cpuSeconds", 0)) + float(
        r["sandbox"].get("childCpuSeconds", 0))


def _profile(p: dict[str, Any] | None) -> list[str]:
    if not p or p.get("error"):
        return []
    lines = ["", "## Profile: patch_cycle's replay", "",
             f"cProfile on patch_cycle's SDK calls only, {p['nodes']} nodes ({p['engine']}), {p['episodes']} episodes, "
             f"{fmt(p['profiledSeconds'], 3)} s profiled.", "",
             "By area (own time): " + ", ".join(f"{k} {v} s" for k, v in p["byArea"].items()) + ".", "",
             "| function | calls | own s | cumulative s |", "| --- | --- | --- | --- |"]
    lines += [f"| `{r['function']}` | {r['calls']:,} | {r['ownSeconds']} | {r['cumulativeSeconds']} |" for r in p["top"]]
    return lines


def _kured(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return []
    lines = ["", "## Side by side with kured (kured modelled)", "",
             "kured is not run: lab/bench/kured_model.py simulates its timing (period 1 h, first check 0.5-1.5 x period "
             "after the sentinel appears, one lock, a node holds it from its drain until it is Ready again) with the "
             "same node durations; mean, median and 95th percentile over the draws. Ours starts when the cycle is "
             "started; on the hourly timer add the wait for the next hour (0-60 min, 30 on average).", "",
             "| cluster | ours | how | kured mean | kured median | kured p95 | nodes' own time |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        k = r["kured"]
        lines.append(f"| {r['cluster']} | {hours(r['ours'])} | {r['oursHow']} | {hours(k['meanSeconds'])} | "
                     f"{hours(k['p50Seconds'])} | {hours(k['p95Seconds'])} | {hours(k.get('nodeSecondsTotal'))} |")
    return lines
