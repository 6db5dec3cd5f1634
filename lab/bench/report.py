"""The benchmark report: goals and verdicts, then the detail of every measurement (markdown from JSON).

``summarize(results)`` adds the fitted exponents, the kured model and the summary rows to the
raw results of lab/bench/run.py; ``markdown(results)`` renders all of it. Every row says which
engine produced it (local engine + sandbox, local engine with fake activities, or the replay
driver through the production SDK) and whether a figure is measured or modelled.
"""

from __future__ import annotations

from typing import Any

from lab.bench import kured_model
from lab.bench.fit import exponent, linear

TYPICAL_NODE = {"drain": 60.0, "reboot": 180.0, "ready": 60.0}  # seconds, for the modelled kured rows
# Defaults of REBOOTER_HEALTH_POLL_SECONDS, REBOOTER_DRAIN_RETRY_SECONDS, REBOOTER_PROBE_POLL_SECONDS: a poll
# finds a change half an interval late on average.


def _ok(value: float | None, goal: float) -> str:
    if value is None:
        return "not measured"
    return "met" if value <= goal else "**missed**"


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _hours(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def _scaling_rows(jobs: dict[str, Any], engine: str) -> list[dict[str, Any]]:
    rows = [v for k, v in jobs.items() if k.startswith(f"scaling-{engine}-") and isinstance(v, dict) and "nodes" in v]
    return sorted(rows, key=lambda r: r["nodes"])


def _parent_cpu(row: dict[str, Any]) -> float:
    parent = (row.get("byOrchestrator") or {}).get("patch_cycle") or {}
    return float(parent.get("sdkSeconds", parent.get("cpuSeconds", 0.0)))


def fits(rows: list[dict[str, Any]]) -> dict[str, float | None]:
    """Exponent k (total ~ nodes^k) per metric, over the runs that patched every node."""
    done = [r for r in rows if r.get("patched") == r["nodes"]]
    sizes = [r["nodes"] for r in done]
    out: dict[str, float | None] = {}
    for key in ("orchestratorCpuSeconds", "episodes", "historyEvents", "replayedEvents", "invocations"):
        out[key] = exponent(sizes, [float(r[key]) for r in done])
    out["parentCpuSeconds"] = exponent(sizes, [_parent_cpu(r) for r in done])
    out["childCpuSeconds"] = exponent(sizes, [float(r["orchestratorCpuSeconds"]) - _parent_cpu(r) for r in done])
    out["sizes"] = sizes  # type: ignore[assignment]
    return out


def per_episode(row: dict[str, Any], buckets: int = 10) -> dict[str, float]:
    """patch_cycle's cost per episode against the history it replayed (unprofiled run).

    Fitted on the medians of ``buckets`` equal-count groups of episodes (by history length),
    so a few episodes stretched by garbage collection or a busy machine do not tilt the line.
    """
    points = sorted((float(x), float(y)) for x, y in row.get("parentEpisodes") or [])
    size = max(1, len(points) // buckets)
    groups = [points[i:i + size] for i in range(0, len(points), size)]
    medians = [(sum(x for x, _ in g) / len(g), sorted(y for _, y in g)[len(g) // 2]) for g in groups if g]
    slope, intercept, r2 = linear(medians)
    return {"microsecondsPerEvent": round(slope * 1e6, 2), "interceptMs": round(intercept * 1e3, 3),
            "r2": round(r2, 3), "episodes": len(points)}


def kured(jobs: dict[str, Any]) -> list[dict[str, Any]]:
    """Ours (measured where a cycle ran) beside kured's model for the same node durations."""
    rows = []
    over = jobs.get("overhead")
    if isinstance(over, dict) and over.get("perNodePhysical"):
        durations = [n["physical"] for n in over["perNodePhysical"]]
        model = kured_model.simulate(durations, runs=1000)
        rows.append({"cluster": f"overhead cluster: {len(durations)} nodes, measured node times",
                     "ours": over["cycleSeconds"], "oursHow": "measured (local engine + sandbox)", "kured": model})
    fleet = jobs.get("fleet")
    if isinstance(fleet, dict) and fleet.get("perNodePhysical"):
        clusters = fleet["perNodePhysical"]
        model = kured_model.fleet(clusters, runs=200)
        model["nodeSecondsTotal"] = max(sum(c) for c in clusters)  # the busiest cluster's own time
        rows.append({"cluster": f"fleet: {len(clusters)} clusters x {len(clusters[0])} nodes, measured node times",
                     "ours": fleet["fleetSeconds"], "oursHow": "measured (local engine + sandboxes)", "kured": model})
    per_node = None
    if isinstance(over, dict) and over.get("cycleSeconds") and over.get("physicalSeconds"):
        split = over.get("overheadSplit") or {}
        per_node = (over["cycleSeconds"] - over["physicalSeconds"] - split.get("discoverySeconds", 0.0)) / over["nodes"]
    fan = jobs.get("fanout")
    discovery = fan.get("discoverySeconds") if isinstance(fan, dict) else None
    node = sum(TYPICAL_NODE.values())
    for n in (10, 100, 1000):
        model = kured_model.simulate([node] * n, runs=300 if n < 1000 else 40, seed=n)
        ours = None
        if per_node is not None and discovery is not None:
            # The waits are event-driven (watches, ARM read about once a second): the measured
            # per-node overhead already holds the lateness; no half poll interval is added.
            ours = discovery + n * (node + per_node)
        rows.append({"cluster": f"{n} nodes of {node:.0f} s (drain {TYPICAL_NODE['drain']:.0f} + reboot "
                                f"{TYPICAL_NODE['reboot']:.0f} + Ready {TYPICAL_NODE['ready']:.0f})",
                     "ours": ours, "oursHow": "modelled: measured discovery (10 pools, L 10 s) + n x (node + measured "
                                              "overhead per node, lateness included: the waits are event-driven)", "kured": model})
    return rows


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    jobs = results["jobs"]
    replay, local = _scaling_rows(jobs, "replay"), _scaling_rows(jobs, "local")
    results["fits"] = {"replay": fits(replay), "local": fits(local)}
    results["perEpisode"] = {}
    if replay:
        results["perEpisode"]["replay"] = per_episode(replay[-1])
    done_local = [r for r in local if r.get("patched") == r["nodes"]]
    if done_local:
        results["perEpisode"]["local"] = per_episode(done_local[-1])
    results["kured"] = kured(jobs)
    rows = []
    for job, how in (("overhead", "default settings"), ("overhead-poll", "every poll 0.2 s"),
                     ("dispatch-0.05", "default settings, dispatch latency 0.05 s"),
                     ("dispatch-1", "default settings, dispatch latency 1 s")):
        over = jobs.get(job) or {}
        if job != "overhead" and not over:
            continue
        late = over.get("lateness") or {}
        lat = ", ".join(f"{k} {late[k]['median']} s" for k in ("drain", "health") if late.get(k))
        rows.append({"measure": f"overhead: cycle / physical bound, {over.get('nodes', '?')} nodes, concurrency 1, "
                                f"{how}",
                     "engine": "local engine + sandbox", "result": over.get("ratio"), "goal": 1.05,
                     "detail": f"{_fmt(over.get('cycleSeconds'))} s / {_fmt(over.get('physicalSeconds'))} s (timeline)"
                               + (f"; median lateness {lat}" if lat else "")})
    for job, how in (("fanout", "default settings"), ("fanout-poll", "every poll 0.2 s")):
        fan = jobs.get(job) or {}
        if job != "fanout" and not fan:
            continue
        rows.append({"measure": f"fan-out: discovery / L, {fan.get('pools', '?')} pools, L = {fan.get('latencySeconds')}"
                                f" s, {how}",
                     "engine": "local engine + sandbox", "result": fan.get("ratioToLatency"), "goal": 1.2,
                     "detail": f"{_fmt(fan.get('discoverySeconds'))} s; one pool "
                               f"{_fmt(fan.get('singlePoolDiscoverySeconds'))} s; one after another "
                               f"{_fmt(fan.get('sequentialEstimateSeconds'))} s; against the slowest command as the "
                               f"sandbox ran it {_fmt(fan.get('ratioToSlowestCommand'), 3)}"})
    for name, data in (("replay", replay), ("local", local)):
        fit = results["fits"][name]
        engine = "replay driver (production SDK)" if name == "replay" else "local engine, fake activities"
        sizes = "/".join(str(s) for s in fit.get("sizes") or []) or "-"
        rows.append({"measure": f"scaling: orchestrator CPU exponent k ({sizes} nodes)", "engine": engine,
                     "result": fit.get("orchestratorCpuSeconds"), "goal": 1.1,
                     "detail": f"patch_cycle alone k = {_fmt(fit.get('parentCpuSeconds'))}, patch_node k = "
                               f"{_fmt(fit.get('childCpuSeconds'))}, replayed events k = {_fmt(fit.get('replayedEvents'))}"})
        complete = [r for r in data if r.get("patched") == r["nodes"]]
        biggest = complete[-1] if complete else {}
        stuck = [r for r in data if r.get("failure")]
        rows.append({"measure": f"scaling: invocations per patched node ({biggest.get('nodes', '?')} nodes)",
                     "engine": engine, "result": (biggest.get("perNode") or {}).get("invocations"), "goal": 12,
                     "detail": ", ".join(f"{r['nodes']}: {_fmt(r['perNode']['invocations'], 1)}" for r in data)
                               + "".join(f"; **{r['nodes']} nodes did not finish** ({r['nodesDoneAtFailure']} done): "
                                         f"{r['failure'][:160]}" for r in stuck)})
    fleet = jobs.get("fleet") or {}
    rows.append({"measure": f"fleet: {fleet.get('clusters', '?')} x {fleet.get('nodesPerCluster', '?')} nodes at once"
                            " / one cluster alone", "engine": "local engine + sandboxes", "result": fleet.get("ratio"),
                 "goal": None, "detail": f"{_fmt(fleet.get('fleetSeconds'))} s / {_fmt(fleet.get('aloneSeconds'))} s"})
    biggest_local = local[-1] if local else {}
    biggest_replay = replay[-1] if replay else {}
    rows.append({"measure": f"memory: peak RSS at {biggest_local.get('nodes', '?')} nodes", "engine":
                 "local engine process (fake activities)", "result": biggest_local.get("peakRssMb"), "goal": None,
                 "detail": f"status {biggest_local.get('status')}; replay driver process at {biggest_replay.get('nodes')}"
                           f" nodes: {_fmt(biggest_replay.get('peakRssMb'))} MB", "unit": "MB"})
    results["summary"] = rows
    return results


def markdown(results: dict[str, Any]) -> str:
    env = results["environment"]
    jobs = results["jobs"]
    out = ["# Benchmarks", ""]
    out.append(f"`{results['command']}` on {env['date']}: {env['uname']}; {env['cpuCount']} CPUs ({env['cpuModel']}); "
               f"Python {env['python']}; " + ", ".join(f"{k} {v}" for k, v in env["packages"].items()) + ".")
    git = results.get("git") or {}
    out.append(f"App code: commit {git.get('commit', '?')}"
               + (f", with uncommitted changes in {', '.join(git['dirty'])}" if git.get("dirty") else "") + ".")
    out.append(f"Total bench time {_fmt(results.get('seconds'), 0)} s. Jobs (seconds, 1-minute load average before -> after; "
               "other work on this machine shows up here): " + "; ".join(
                   f"{name} {v['job']['seconds']:.0f} s ({v['job']['loadBefore']} -> {v['job']['loadAfter']})"
                   for name, v in jobs.items() if isinstance(v, dict) and "job" in v) + ".")
    out += ["", "## Summary", "", "| measure | engine | result | goal | verdict | detail |", "| --- | --- | --- | --- | --- | --- |"]
    for row in results["summary"]:
        goal = row["goal"]
        verdict = _ok(row["result"], goal) if goal is not None else "reported"
        out.append(f"| {row['measure']} | {row['engine']} | {_fmt(row['result'], 3)}{' ' + row['unit'] if row.get('unit') else ''}"
                   f" | {'<= ' + _fmt(goal) if goal is not None else '-'} | {verdict} | {row['detail']} |")
    for job in ("overhead", "overhead-poll", "dispatch-0.05", "dispatch-1"):
        out += _overhead(jobs.get(job))
    out += _fanout(jobs.get("fanout")) + _fanout(jobs.get("fanout-poll")) + _scaling(results) + _fleet(jobs.get("fleet"))
    out += _profile(jobs.get("profile")) + _kured(results.get("kured") or [])
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
             f"Physical bound from the sandbox timeline: drain {_fmt(b['drainSeconds'])} s + reboot "
             f"{_fmt(b['rebootSeconds'])} s + back to Ready {_fmt(b['readySeconds'])} s = {_fmt(b['physicalSeconds'])} s "
             f"({b['evictions']} evictions, {b['refusedEvictions']} refused by a PDB). From the scenario's timings "
             f"(termination + reboot per node) it would be {_fmt(o['scenarioBoundSeconds'])} s (ratio "
             f"{_fmt(o['ratioScenarioBound'], 3)}).", "",
             "| cycle wall | physical | ratio | discovery | inside nodes | between nodes | tail |",
             "| --- | --- | --- | --- | --- | --- | --- |",
             f"| {_fmt(o['cycleSeconds'])} s | {_fmt(o['physicalSeconds'])} s | {_fmt(o['ratio'], 4)} | "
             f"{_fmt(split.get('discoverySeconds'))} s | {_fmt(split.get('insideNodesSeconds'))} s | "
             f"{_fmt(split.get('betweenNodesSeconds'))} s | {_fmt(split.get('tailSeconds'))} s |", "",
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
    return (f"Discovery: custom status left \"probe pools\" after {_fmt(d.get('leftProbePoolsSeconds'))} s; "
            f"{rc['commands']} run-commands, slowest {_fmt(rc['commandSecondsMax'])} s submit to finish (script "
            f"{_fmt(rc['scriptSecondsMax'])} s); ours {_fmt(rc['startToFirstSubmitSeconds'])} s before the first submit "
            f"and {_fmt(rc['lastFinishToDiscoveredSeconds'])} s after the last finish.")


def _invocations_text(counts: dict[str, Any], nodes: int) -> str:
    if not counts:
        return ""
    per = {k: sum(counts.get(k, {}).values()) / max(1, nodes) for k in ("episodes", "activities", "entityOperations")}
    top = sorted((counts.get("activities") or {}).items(), key=lambda kv: -kv[1])[:3]
    return (f"Invocations per node: {per['episodes']:.1f} episodes + {per['activities']:.1f} activities + "
            f"{per['entityOperations']:.1f} entity operations = {sum(per.values()):.1f} (most called: "
            + ", ".join(f"{k} {v / max(1, nodes):.1f}" for k, v in top) + "); engine CPU "
            f"orchestrators {_fmt(sum((counts.get('orchestratorCpuSeconds') or {}).values()))} s, activities "
            f"{_fmt(counts.get('activityCpuSeconds'))} s, entities {_fmt(counts.get('entityCpuSeconds'))} s.")


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
            f"| 1 | {_fmt(f['singlePoolDiscoverySeconds'])} s | {_fmt(f['singlePoolDiscoverySeconds'] / f['latencySeconds'], 3)}"
            f" | {_fmt(one.get('commandSecondsMax'))} s | - | - | {_fmt(one.get('scriptSecondsMax'))} s | "
            f"{_fmt(one.get('startToFirstSubmitSeconds'))} s | {_fmt(one.get('lastFinishToDiscoveredSeconds'))} s | - |",
            f"| {f['pools']} | {_fmt(f['discoverySeconds'])} s | {_fmt(f['ratioToLatency'], 3)} | "
            f"{_fmt(many.get('commandSecondsMax'))} s | {_fmt(f.get('ratioToSlowestCommand'), 3)} | "
            f"{_fmt(many.get('submitSpreadSeconds'), 3)} s | {_fmt(many.get('scriptSecondsMax'))} s | "
            f"{_fmt(many.get('startToFirstSubmitSeconds'))} s | {_fmt(many.get('lastFinishToDiscoveredSeconds'))} s | "
            f"{_fmt(f['sequentialEstimateSeconds'])} s ({f['pools']} x one pool; {f['sequentialLatencyOnlySeconds']:.0f} s"
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
        for r in _scaling_rows(jobs, name):
            per = r["perNode"]
            parent = (r.get("byOrchestrator") or {}).get("patch_cycle") or {}
            size = r.get("parentHistoryBytes") or (r.get("largestHistoryBytes") or {}).get("patch_cycle")
            status = r["status"] + (f" ({r['nodesDoneAtFailure']} done)" if r.get("failure") else "")
            lines.append(f"| {r['engine'].split(' (')[0]} | {r['nodes']:,} | {status} | {_fmt(r['orchestratorCpuSeconds'])}"
                         f" ({_fmt(per['orchestratorCpuSeconds'] * 1000, 1)}) | {_fmt(_parent_cpu(r))} | "
                         f"{_fmt(per['episodes'], 1)} | {_fmt(per['historyEvents'], 1)} | {_fmt(per['replayedEvents'], 0)} | "
                         f"{_fmt(per['activities'], 2)} | {_fmt(per['entityOperations'], 2)} | {_fmt(per['invocations'], 1)}"
                         f" | {parent.get('longestHistory', '-')}, {_fmt(size)} | {_fmt(r['wallSeconds'], 1)} | "
                         f"{_fmt(r['peakRssMb'], 0)} |")
    lines += ["", "Fitted exponent k (total ~ nodes^k) over the runs that completed:", "",
              "| engine | sizes | orch. CPU | patch_cycle CPU | patch_node CPU | episodes | history events | "
              "replayed events | invocations |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, fit in results["fits"].items():
        lines.append(f"| {name} | {'/'.join(str(s) for s in fit.get('sizes') or [])} | "
                     + " | ".join(_fmt(fit.get(k), 3) for k in ("orchestratorCpuSeconds", "parentCpuSeconds",
                                                               "childCpuSeconds", "episodes", "historyEvents",
                                                               "replayedEvents", "invocations")) + " |")
    for name, fit in (results.get("perEpisode") or {}).items():
        if fit:
            lines.append(f"\npatch_cycle per episode ({name}, largest completed run): {fit['microsecondsPerEvent']} µs per "
                         f"history event replayed + {fit['interceptMs']} ms (r² {fit['r2']}, {fit['episodes']} episodes).")
    biggest = (_scaling_rows(jobs, "replay") or [None])[-1]
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
            f"| {label} | {r['clusters']} | {r['patched']} | {_fmt(r['fastestSeconds'])} s | {_fmt(r['medianSeconds'])} s | "
            f"{_fmt(r['totalSeconds'])} s | {_fmt(r['physicalSecondsMax'])} s | {_fmt(r['timerSeconds'])} s | "
            f"{_fmt(r['engineCpuSeconds'])} | {_fmt(r['enginePeakRssMb'], 0)} | {_fmt(r['sandbox'].get('cpuSeconds'))}"
            f" ({_fmt(r['sandbox'].get('childCpuSeconds'))}) | {_fmt(r['sandbox'].get('armCalls'))} |"
            for label, r in (("one alone", a), ("fleet", b))] + [""] + [
            f"CPU of the {label} run: engine {_fmt(r['engineCpuSeconds'])} s (orchestrators "
            f"{_fmt(sum((r['invocations'].get('orchestratorCpuSeconds') or {}).values()))} s, activities "
            f"{_fmt(r['invocations'].get('activityCpuSeconds'))} s, entities {_fmt(r['invocations'].get('entityCpuSeconds'))}"
            f" s, the rest gRPC, backend, HTTP), sandboxes {_fmt(r['sandbox'].get('cpuSeconds'))} s + kubectl "
            f"{_fmt(r['sandbox'].get('childCpuSeconds'))} s: {_fmt(_cpu(r))} s in all, at least {_fmt(_cpu(r) / 2)} s "
            f"on 2 CPUs. {_invocations_text(r['invocations'], r['patched'])}" for label, r in (("one alone", a), ("fleet", b))]


def _cpu(r: dict[str, Any]) -> float:
    return float(r["engineCpuSeconds"]) + float(r["sandbox"].get("cpuSeconds", 0)) + float(
        r["sandbox"].get("childCpuSeconds", 0))


def _profile(p: dict[str, Any] | None) -> list[str]:
    if not p or p.get("error"):
        return []
    lines = ["", "## Profile: patch_cycle's replay", "",
             f"cProfile on patch_cycle's SDK calls only, {p['nodes']} nodes ({p['engine']}), {p['episodes']} episodes, "
             f"{_fmt(p['profiledSeconds'], 3)} s profiled.", "",
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
        lines.append(f"| {r['cluster']} | {_hours(r['ours'])} | {r['oursHow']} | {_hours(k['meanSeconds'])} | "
                     f"{_hours(k['p50Seconds'])} | {_hours(k['p95Seconds'])} | {_hours(k.get('nodeSecondsTotal'))} |")
    return lines
