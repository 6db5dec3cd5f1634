"""``make bench``: overhead, run-command fan-out, scaling to 1,000 nodes, a fleet of clusters, memory, kured.

    .venv/bin/python lab/bench/run.py            # the full run: the issue's goal rows, under 20 minutes on 2 CPUs
    .venv/bin/python lab/bench/run.py --quick    # small sizes, a smoke run of the measurement code
    .venv/bin/python lab/bench/run.py --only overhead,fanout
    .venv/bin/python lab/bench/run.py --only fleet-50,profile-200   # the larger extra jobs, by name only
    .venv/bin/python lab/bench/run.py --render lab/bench/results/latest.json   # the report again, from the JSON

The full run (``JOBS``) holds what the goals need, sized to finish in under 20 minutes on 2
shared CPUs (the report gives the total and its verdict): the 20-node overhead on the app's
default settings, one small 0.2 s-poll row for comparison, the dispatch-latency rows (d = 0.05 s
and 1 s), the 10-pool fan-out (L = 10 s), the 10/100/1,000-node scaling on both engines (the CPU
exponent), a small fleet and a small profile. Where the time goes (2026-12-05, loaded machine):
the 20-node overhead is 160 s of the nodes' own time; the two 1,000-node scaling runs take
about 200 s each (the SDK's replay, and one node at a time through the local engine). The
larger comparison jobs (``EXTRA_JOBS``: 20-node 0.2 s polls, the 0.2 s-poll fan-out, 50 x 10
clusters, the 200-node profile) cost 600 s together and answer no goal; they run only when
named in ``--only``.

Each measurement runs in a subprocess of its own (``--job``), so its peak RSS is its own and a
crash or timeout is reported instead of ending the run. The sandbox clusters run in a further
process (bench.sandbox_host). Results go to ``lab/bench/results/`` as ``bench-<date>.json`` and
``.md`` plus ``latest.json``/``latest.md``; lab/bench/RESULTS.md is the reviewed copy of a full run.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lab.bench import envinfo, figures, report  # noqa: E402

APP_PATHS = ("function_app.py", "orchestrators", "activities", "entities", "starters", "rebooter", "host.json")

# name -> (module.function, full parameters, quick parameters, timeout seconds)
Job = tuple[str, dict[str, Any], dict[str, Any], float]
_NODE = {"reboot": 6.0, "termination": 2.0}  # the overhead jobs' node: 2 s drain + 6 s reboot
_SMALL = {"nodes": 2, "reboot": 0.5, "termination": 0.2}
JOBS: dict[str, Job] = {
    # The headline row: the app's default intervals (poll None), what a user deploys.
    "overhead": ("lab.bench.overhead.run", {"nodes": 20, **_NODE, "poll": None}, {**_SMALL, "poll": None}, 1500),
    # The same node with every poll at 0.2 s, for comparison with earlier runs: 5 nodes show the
    # difference (the 20-node version is the extra job overhead-poll-20).
    "overhead-poll": ("lab.bench.overhead.run", {"nodes": 5, **_NODE, "poll": 0.2}, {**_SMALL, "poll": 0.2}, 900),
    # Dispatch latency: every orchestrator episode and entity operation delayed by d seconds, like a
    # Durable Task Scheduler (0.05 s) and the Azure Storage backend under light load (1 s); defaults.
    "dispatch-0.05": ("lab.bench.overhead.run", {"nodes": 5, **_NODE, "poll": None, "dispatch": 0.05},
                      {**_SMALL, "poll": None, "dispatch": 0.05}, 900),
    "dispatch-1": ("lab.bench.overhead.run", {"nodes": 5, **_NODE, "poll": None, "dispatch": 1.0},
                   {**_SMALL, "poll": None, "dispatch": 1.0}, 900),
    # Discovery on the app's defaults (poll None).
    "fanout": ("lab.bench.fanout.run", {"pools": 10, "latency": 10.0, "poll": None},
               {"pools": 3, "latency": 0.5, "poll": None}, 600),
    "scaling-replay-10": ("lab.bench.scaling.replay", {"n": 10}, {"n": 5}, 600),
    "scaling-replay-100": ("lab.bench.scaling.replay", {"n": 100}, {"n": 20}, 600),
    "scaling-replay-1000": ("lab.bench.scaling.replay", {"n": 1000}, {}, 1200),
    "scaling-local-10": ("lab.bench.scaling.local", {"n": 10}, {"n": 5}, 600),
    "scaling-local-100": ("lab.bench.scaling.local", {"n": 100}, {"n": 20}, 600),
    "scaling-local-1000": ("lab.bench.scaling.local", {"n": 1000}, {}, 1200),
    # Many clusters on one engine, on the app's defaults: 10 x 5 nodes shows what sharing one engine
    # and 2 CPUs costs (fleet-50 is the 50 x 10 version).
    "fleet": ("lab.bench.fleet.run", {"clusters": 10, "nodes": 5, "reboot": 2.0, "termination": 0.5, "poll": None},
              {"clusters": 3, "nodes": 2, "reboot": 0.5, "termination": 0.2, "poll": None}, 900),
    # Where patch_cycle's replay time goes, at 100 nodes (profile-200 is the larger one).
    "profile": ("lab.bench.profiling.run", {"n": 100}, {"n": 10}, 600),
}
# Larger comparison jobs, out of the full run (they answer no goal): run only when named in --only.
EXTRA_JOBS: dict[str, Job] = {
    "overhead-poll-20": ("lab.bench.overhead.run", {"nodes": 20, **_NODE, "poll": 0.2}, {**_SMALL, "poll": 0.2}, 900),
    "fanout-poll": ("lab.bench.fanout.run", {"pools": 10, "latency": 10.0, "poll": 0.2},
                    {"pools": 3, "latency": 0.5, "poll": 0.2}, 600),
    "fleet-50": ("lab.bench.fleet.run", {"clusters": 50, "nodes": 10, "reboot": 2.0, "termination": 0.5, "poll": 0.2},
                 {"clusters": 3, "nodes": 2, "reboot": 0.5, "termination": 0.2, "poll": 0.2}, 1200),
    "profile-200": ("lab.bench.profiling.run", {"n": 200}, {"n": 10}, 600),
}
GOAL_SECONDS = 1200  # the issue: make bench in under 20 minutes on 2 cores


def selected(wanted: list[str]) -> list[str]:
    """The jobs to run: every job of the full run (``JOBS``) when nothing is asked for; else those
    of JOBS whose name starts with one of ``wanted``, and the extra jobs named exactly."""
    if not wanted:
        return list(JOBS)
    return [name for name in JOBS if any(name.startswith(w) for w in wanted)] + [
        name for name in EXTRA_JOBS if name in wanted]


def run_job(target: str, params: dict[str, Any]) -> dict[str, Any]:
    """Call ``module.function(**params)`` in this process."""
    module, _, function = target.rpartition(".")
    return getattr(importlib.import_module(module), function)(**params)


def spawn(name: str, target: str, params: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run one job in a subprocess; its result, or why there is none."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        result_file = f.name
    job = json.dumps({"target": target, "params": params})
    began, load = time.monotonic(), os.getloadavg()[0]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    print(f"[bench] {name} {params} ...", file=sys.stderr, flush=True)
    try:
        proc = subprocess.run([sys.executable, str(Path(__file__)), "--job", job, "--result", result_file], cwd=ROOT,
                              env=env, timeout=timeout, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stderr or "").strip().splitlines()[-5:]
            result: dict[str, Any] = {"error": f"exit {proc.returncode}: {' | '.join(tail)}"}
        else:
            result = json.loads(Path(result_file).read_text())
    except subprocess.TimeoutExpired:
        result = {"error": f"timed out after {timeout:.0f} s"}
    finally:
        Path(result_file).unlink(missing_ok=True)
    result["job"] = {"target": target, "params": params, "seconds": round(time.monotonic() - began, 1),
                     "loadBefore": round(load, 2), "loadAfter": round(os.getloadavg()[0], 2)}
    print(f"[bench] {name} done in {result['job']['seconds']} s" + (f": {result['error']}" if "error" in result else ""),
          file=sys.stderr, flush=True)
    return result


def git_state() -> dict[str, Any]:
    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30)
        return out.stdout.strip()

    dirty = git("status", "--porcelain", "--", *APP_PATHS).splitlines()
    return {"commit": git("rev-parse", "--short", "HEAD"), "dirty": sorted({line[3:].split("/")[0] for line in dirty})}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the measurement code, not the app")
    parser.add_argument("--only", default="", help="comma-separated job names or prefixes (e.g. scaling-replay)")
    parser.add_argument("--out", default=str(ROOT / "lab" / "bench" / "results"), help="directory for the results")
    parser.add_argument("--nodes", type=int, help="override the node count of the jobs that take one (overhead)")
    parser.add_argument("--render", metavar="RESULTS_JSON", help="print the report of an earlier run's JSON again")
    parser.add_argument("--job", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.job:  # inside a job subprocess
        spec = json.loads(args.job)
        Path(args.result).write_text(json.dumps(run_job(spec["target"], spec["params"]), default=str))
        return 0

    if args.render:
        earlier = json.loads(Path(args.render).read_text())
        for key in ("fits", "perEpisode", "kured", "summary"):
            earlier.pop(key, None)
        print(report.markdown(figures.summarize(earlier)))
        return 0

    wanted = [w for w in args.only.split(",") if w]
    began = time.monotonic()
    jobs: dict[str, Any] = {}
    for name in selected(wanted):
        target, full, quick, timeout = {**JOBS, **EXTRA_JOBS}[name]
        params = dict(quick if args.quick else full)
        if args.nodes and name.startswith("overhead"):
            params["nodes"] = args.nodes
        if params:
            jobs[name] = spawn(name, target, params, timeout)
    command = "lab/bench/run.py" + (" --quick" if args.quick else "") + (f" --only {args.only}" if args.only else "") \
        + (f" --nodes {args.nodes}" if args.nodes else "")
    full_run = not (args.quick or wanted or args.nodes)
    results = figures.summarize({"command": command, "quick": args.quick, "fullRun": full_run,
                                "goalSeconds": GOAL_SECONDS, "environment": envinfo.environment(),
                                "git": git_state(), "jobs": jobs, "seconds": round(time.monotonic() - began, 1)})
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + ("-quick" if args.quick else "")
    text = report.markdown(results)
    for name in (f"bench-{stamp}", "latest-quick" if args.quick else "latest"):
        (out / f"{name}.json").write_text(json.dumps(results, indent=1, default=str))
        (out / f"{name}.md").write_text(text)
    print(text)
    print(f"[bench] results in {out}/bench-{stamp}.{{json,md}}", file=sys.stderr)
    return 1 if any(isinstance(v, dict) and v.get("error") for v in jobs.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
