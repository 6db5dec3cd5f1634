"""Command line: run the product locally against the sandbox, and read its history.

    python -m lab.local demo [scenario.yaml]    one whole patch cycle, live progress, history, invariants
    python -m lab.local serve [scenario.yaml]   sandbox + engine + HTTP API on 127.0.0.1:7071 + the timer on
                                            REBOOTER_SCHEDULE, until Ctrl-C
    python -m lab.local history [--cluster ID]  runs, newest first (from a running `serve`)
    python -m lab.local show <instance id>      one run: per node steps, durations, result (--follow: live)
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

from lab.local import report
from lab.local.stack import LocalStack, differing_settings

DEFAULT_SCENARIO = "lab/scenarios/demo.yaml"
# The demo cluster has a node an operator cordoned; it counts against the budget (like
# OpenShift's maxUnavailable), so a budget of 2 leaves room for one node of ours at a time.
# A lab default: REBOOTER_MAX_UNAVAILABLE exported by the caller wins.
DEMO_SETTINGS = {"REBOOTER_MAX_UNAVAILABLE": "2"}


def settings_lines() -> list[str]:
    """One banner line per setting that differs from the app's defaults (the sandbox's address,
    the lab's short timeouts, the demo budget, anything the caller exported)."""
    return [f"setting:         {name}={value}" for name, value in sorted(differing_settings().items())]


def demo(args: argparse.Namespace) -> int:
    console = report.console()
    with LocalStack(args.scenario, http_port=args.port, defaults=DEMO_SETTINGS) as stack:
        budget = int(os.environ["REBOOTER_MAX_UNAVAILABLE"])
        console.print(f"sandbox cluster [bold]{stack.sandbox.cluster_resource_id}[/]", soft_wrap=True)
        for line in settings_lines():
            console.print(line, soft_wrap=True, highlight=False)
        console.print(f"budget: {budget} node(s) out at once, counting nodes already out (the demo cluster has "
                      "one cordoned by an operator)")
        console.print(f"app HTTP API on {stack.base_url}; ARM emulator {stack.sandbox.arm_url}")
        started = report.start_cycle(stack.base_url, stack.sandbox.cluster_resource_id, "make demo")
        status = report.follow(console, stack.base_url, started["id"], timeout=args.timeout)
        report.print_history(console, status)
        ok = report.print_invariants(console, stack.sandbox, budget=budget)
        if args.timeline:
            stack.sandbox.timeline.write_jsonl(args.timeline)
            console.print(f"timeline written to {args.timeline}")
        return 0 if ok and status.get("status") == "Completed" else 1


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def serve(args: argparse.Namespace) -> int:
    console = report.console()
    # Ctrl-C or a service manager's TERM stops cleanly, even when started in the background
    # (where a shell leaves SIGINT ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    with LocalStack(args.scenario, http_port=args.port, defaults=DEMO_SETTINGS, run_timers=True) as stack:
        cluster = stack.sandbox.cluster_resource_id
        for line in (f"sandbox cluster: {cluster}", f"kubeconfig:      {stack.sandbox.kubeconfig_path}",
                     f"HTTP API:        {stack.base_url}/api/patch-cycles",
                     f"try:  curl -s -X POST {stack.base_url}/api/patch-cycles -d '{{\"cluster\": \"{cluster}\"}}'",
                     *settings_lines(),
                     *timer_lines(stack),
                     "Ctrl-C stops"):
            console.print(line, soft_wrap=True)  # never wrapped: these lines are copied and pasted
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean stop short
            console.print("stopping")
    return 0


def timer_lines(stack: LocalStack) -> list[str]:
    """The timer trigger's schedule, its next fire time and how to fire it now (the host's admin route)."""
    lines = []
    for name, (expression, next_fire) in stack.engine.next_fires().items():
        lines.append(f"timer:           {name} on '{expression}' (REBOOTER_SCHEDULE), "
                     f"next fire {next_fire:%Y-%m-%dT%H:%M:%SZ}")
        lines.append(f"fire it now:     curl -s -X POST {stack.base_url}/admin/functions/{name} "
                     "-H 'Content-Type: application/json' -d '{\"input\": \"\"}'")
    return lines


def history(args: argparse.Namespace) -> int:
    console = report.console()
    params = {"cluster": args.cluster} if args.cluster else {}
    report.print_runs(console, report.api_get(args.url, "patch-cycles", **params))
    return 0


def show(args: argparse.Namespace) -> int:
    console = report.console()
    if args.follow:
        status = report.follow(console, args.url, args.instance_id, timeout=args.timeout)
    else:
        status = report.get_status(args.url, args.instance_id)
    report.print_history(console, status)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.local", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, fn in (("demo", demo), ("serve", serve)):
        sub = commands.add_parser(name)
        sub.add_argument("scenario", nargs="?", default=DEFAULT_SCENARIO)
        sub.add_argument("--port", type=int, default=7071, help="HTTP port on 127.0.0.1 (default 7071)")
        sub.set_defaults(fn=fn)
    for name, fn in (("history", history), ("show", show)):
        sub = commands.add_parser(name)
        sub.add_argument("--url", default="http://127.0.0.1:7071", help="the app's HTTP origin (make serve)")
        sub.set_defaults(fn=fn)
    commands.choices["history"].add_argument("--cluster", help="only this cluster's runs")
    commands.choices["show"].add_argument("instance_id")
    commands.choices["show"].add_argument("--follow", action="store_true", help="live progress until it ends")
    commands.choices["show"].add_argument("--timeout", type=float, default=3600)
    commands.choices["demo"].add_argument("--timeout", type=float, default=300)
    commands.choices["demo"].add_argument("--timeline", help="write the sandbox timeline as JSON lines here")
    args = parser.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
