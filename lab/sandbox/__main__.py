"""``python -m lab.sandbox lab/scenarios/demo.yaml``: run the sandbox AKS cluster until Ctrl-C.

Prints the ARM base URL, the CA file, the kubeconfig path and the cluster resource ID, then
waits. ``--timeline FILE`` writes the timeline as JSON lines when it stops.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from lab.sandbox.runtime import Sandbox
from lab.sandbox.schema import ScenarioError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.sandbox", description="Run the sandbox AKS cluster on 127.0.0.1.")
    parser.add_argument("scenario", help="scenario YAML file (see docs/scenarios.md)")
    parser.add_argument("--timeline", help="write the timeline (JSON lines) here on exit")
    args = parser.parse_args(argv)
    try:
        sandbox = Sandbox(args.scenario).start()
    except ScenarioError as err:
        print(err, file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"ARM endpoint:        {sandbox.arm_url}")
    print(f"CA file:             {sandbox.ca_file}")
    print(f"kubeconfig:          {sandbox.kubeconfig_path}")
    print(f"cluster resource ID: {sandbox.cluster_resource_id}")
    print(f"node resource group: {sandbox.node_resource_group}")
    print(f"Kubernetes API:      {sandbox.kube_url}")
    print(f"started in {sandbox.startup_seconds:.2f}s with {len(sandbox.scenario.nodes)} nodes; Ctrl-C stops",
          flush=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if args.timeline:
            sandbox.timeline.write_jsonl(args.timeline)
        sandbox.stop()
        print("sandbox stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
