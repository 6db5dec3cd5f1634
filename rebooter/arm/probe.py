"""The run-command probe: which nodes of a pool need a reboot.

One AKS run-command per pool (Microsoft documents run-command as not designed for
programmatic use, so we keep it to one short, bounded command per pool). The command runs
``PROBE_RUNNER_FILE`` from the request's context zip; that script starts one probe pod per
node of the pool (see ``rebooter.contract``), waits a bounded time, reads every pod's answer
from one pod list (the containers' termination messages, documented in "Determine the Reason
for Pod Failure", kubernetes.io/docs/tasks/debug/debug-application/determine-reason-pod-failure/:
the kubelet keeps at most 4096 bytes per container), falls back to ``kubectl logs`` for a pod
whose message is missing or cut, prints one JSON line per node and deletes the pods. Names are validated before they reach the command line and
quoted with ``shlex.quote``.
"""

from __future__ import annotations

import base64
import io
import json
import shlex
import zipfile
from typing import Any

from rebooter import contract
from rebooter.arm.probe_pod import probe_pod_manifest
from rebooter.config import names

# Runs inside the run-command pod (bash, kubectl). Arguments: pool, run id, seconds to wait.
RUNNER_SCRIPT = r"""#!/usr/bin/env bash
set -uo pipefail
pool="$1"; run="$2"; wait_seconds="$3"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ns=__NAMESPACE__
selector="__RUN_LABEL__=$run"
nodes="$(kubectl get nodes -l "kubernetes.azure.com/agentpool=$pool" \
  -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}')" || { echo "cannot list the nodes of pool $pool" >&2; exit 3; }
manifest=""
for node in $nodes; do
  if [[ ! "$node" =~ ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$ ]]; then
    printf '{"node":"","error":"skipped a node with an invalid name"}\n'; continue
  fi
  manifest+="---"$'\n'"$(sed -e "s/__NODE__/$node/g" -e "s/__RUN__/$run/g" "$here/probe-pod.json")"$'\n'
done
[ -n "$manifest" ] || exit 0
printf '%s' "$manifest" | kubectl create -f - -o name >/dev/null || { echo "cannot create probe pods" >&2; exit 4; }
kubectl wait pod -n "$ns" -l "$selector" --for=jsonpath='{.status.phase}'=Succeeded \
  --timeout="${wait_seconds}s" >/dev/null 2>&1
pods="$(kubectl get pods -n "$ns" -l "$selector" -o jsonpath='{range .items[*]}{.metadata.name} {.spec.nodeName} '\
'{.status.phase} {.status.containerStatuses[0].state.terminated.message}{"\n"}{end}')" ||
  { echo "cannot list the probe pods of pool $pool" >&2; kubectl delete pods -n "$ns" -l "$selector" --wait=false >/dev/null 2>&1; exit 5; }
printf '%s\n' "$pods" | while read -r pod node phase message; do
  [ -n "$pod" ] || continue
  line=""
  if [ "$phase" = "Succeeded" ]; then
    # The answer is the termination message (one list for every pod); the log only when the
    # message is missing or was cut (the kubelet keeps at most 4096 bytes of it).
    case "$message" in
      "{"*"}") line="$message" ;;
      *) line="$(kubectl logs -n "$ns" "$pod" 2>/dev/null | grep '^{' | head -n 1)" ;;
    esac
    [ -n "$line" ] || phase="Succeeded but its output could not be read"
  fi
  if [ -n "$line" ]; then
    printf '%s\n' "$line"
  else
    printf '{"node":"%s","error":"probe pod did not finish within %ss (phase %s)"}\n' "$node" "$wait_seconds" "$phase"
  fi
done
kubectl delete pods -n "$ns" -l "$selector" --wait=false >/dev/null 2>&1
exit 0
"""


def runner_script() -> str:
    return RUNNER_SCRIPT.replace("__NAMESPACE__", contract.PROBE_NAMESPACE).replace("__RUN_LABEL__", contract.RUN_LABEL)


def build_request(pool: str, run_id: str, wait_seconds: int) -> dict[str, str]:
    """The run-command request body: the command line and the base64 zip context."""
    names.check_pool_name(pool)
    names.check_label_value(run_id)
    template = json.dumps(probe_pod_manifest("__NODE__", "__RUN__", generate_name=True), indent=1)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(contract.PROBE_RUNNER_FILE, runner_script())
        archive.writestr("probe-pod.json", template)
    command = " ".join(
        ["bash", contract.PROBE_RUNNER_FILE, shlex.quote(pool), shlex.quote(run_id), str(int(wait_seconds))]
    )
    return {"command": command, "context": base64.b64encode(buffer.getvalue()).decode()}


class ProbeError(RuntimeError):
    """The probe command failed; the message carries AKS's reason or the exit code and output."""


def parse_result(pool: str, state: str, exit_code: int | None, logs: str, reason: str | None) -> dict[str, Any]:
    """Turn a finished run-command result into per-node facts, or raise ProbeError."""
    if state != "Succeeded":
        raise ProbeError(f"run-command for pool {pool} ended {state}: {reason or 'no reason given'}")
    if exit_code not in (0, None):
        tail = logs.strip().splitlines()[-3:]
        raise ProbeError(f"probe of pool {pool} exited with code {exit_code}: {' | '.join(tail) or 'no output'}")
    nodes: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    for line in logs.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            fact = json.loads(line)
        except json.JSONDecodeError:
            errors.append({"node": "", "error": f"unreadable probe output: {line[:200]}"})
            continue
        if "error" in fact:
            errors.append({"node": str(fact.get("node", "")), "error": str(fact["error"])})
        elif isinstance(fact.get("node"), str) and isinstance(fact.get("rebootRequired"), bool):
            nodes.append(
                {
                    "node": fact["node"],
                    "pool": pool,
                    "rebootRequired": fact["rebootRequired"],
                    "packages": [str(p) for p in fact.get("packages", [])],
                    "bootId": str(fact.get("bootId", "")),
                    "kernel": str(fact.get("kernel", "")),
                }
            )
        else:
            errors.append({"node": str(fact.get("node", "")), "error": f"unexpected probe output: {line[:200]}"})
    return {"pool": pool, "nodes": nodes, "errors": errors}
