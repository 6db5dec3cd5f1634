"""``python -m lab.faultrun run --seed N`` | ``soak --runs 200 --seed 1`` | ``generate --seed N``.

run       one seeded run; prints its report; exit 1 when an invariant was violated
soak      runs seeds N .. N+runs-1 on worker processes; prints a table; exit 1 on unexplained violations
generate  prints the seed's plan (scenario, settings, faults) as JSON
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.faultrun", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="one seeded run with its invariant checks")
    run.add_argument("--seed", type=int, required=True)
    run.add_argument("--json", action="store_true", help="print the report as JSON")
    run.add_argument("--timeline", help="write the sandbox timeline (JSON lines) to this file")
    run.add_argument("--sabotage", action="store_true",
                     help="self-test of the checks: a rogue actor breaks the rules during the run")
    soak = sub.add_parser("soak", help="many seeded runs and a summary table")
    soak.add_argument("--runs", type=int, default=200)
    soak.add_argument("--seed", type=int, default=1, help="first seed")
    soak.add_argument("--workers", type=int, default=max(2, min(4, (os.cpu_count() or 2))))
    gen = sub.add_parser("generate", help="print a seed's plan")
    gen.add_argument("--seed", type=int, required=True)
    sub.add_parser("worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")

    if args.command == "generate":
        from lab.faultrun.generate import generate

        print(json.dumps(generate(args.seed).to_dict(), indent=2))
        return 0
    if args.command == "worker":
        from lab.faultrun.pool import serve_worker

        serve_worker()
        return 0
    if args.command == "soak":
        from lab.faultrun.soak import soak as run_soak

        tally = run_soak(range(args.seed, args.seed + args.runs), workers=args.workers)
        print()
        print(tally.table())
        return 1 if tally.failing else 0
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    from lab.faultrun.known import classify
    from lab.faultrun.run import run_seed
    from lab.faultrun.stack import shared_engine

    engine = shared_engine()
    try:
        report = run_seed(args.seed, timeline_path=args.timeline, sabotage=args.sabotage)
    finally:
        engine.stop()
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        print(report.summary() if report.ok else report.failure_text())
        print("faults fired: " + (", ".join(f"{k} x{v}" for k, v in sorted(report.fired.items())) or "none"))
        _, known = classify(report)
        for issue in known.values():
            print(f"known app bug: {issue.text()}")
    sys.stdout.flush()
    os._exit(1 if report.violations else 0)  # the engine's gRPC threads must not keep the process alive


if __name__ == "__main__":
    sys.exit(main())
