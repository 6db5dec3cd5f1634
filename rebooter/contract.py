"""The contract between the app and the nodes it patches (real AKS nodes or the sandbox).

This module is the one place that says what the app puts on a cluster and what it
expects back. The sandbox's simulated kubelet reads the same constants, so the two
cannot drift apart; ``tests/test_contract.py`` runs the real node-side shell script
against a fake host root and checks it prints what :func:`probe_line` prints.

Probe (asking a pool which nodes need a reboot)
    The app submits one AKS run-command per pool. Its context zip carries
    ``PROBE_RUNNER_FILE`` (see ``rebooter.probe``), which, inside the run-command pod,
    creates one short-lived *probe pod* per node of the pool:

    * namespace ``PROBE_NAMESPACE``, ``spec.nodeName`` pinned, tolerating every taint,
      ``restartPolicy: Never``;
    * labels ``ROLE_LABEL=ROLE_PROBE`` and ``RUN_LABEL=<run id>``;
    * the host's ``/var/run`` mounted read-only at ``/host/var/run``;
    * running ``NODE_PROBE_SCRIPT`` with ``sh``, which prints exactly one line,
      :func:`probe_line`, and exits 0.

    The runner then waits for the pods to finish, prints their logs (one JSON line per
    node, or ``{"node": ..., "error": ...}`` for a node whose probe pod did not finish),
    and deletes them.

Reboot
    A *reboot pod* named :func:`reboot_pod_name` in ``REBOOT_NAMESPACE`` with label
    ``ROLE_LABEL=ROLE_REBOOT``, ``spec.nodeName`` pinned, privileged, ``hostPID: true``,
    tolerating every taint, running ``REBOOT_COMMAND`` (kured's method). A node that
    runs it goes down: its Ready condition becomes Unknown, then True again with a new
    ``status.nodeInfo.bootID``; the sentinel is gone and ``kernelVersion`` is the newly
    installed kernel. The app deletes the pod once the node is healthy.
    The alternative path is the ARM VMSS VM restart call (setting ``REBOOTER_REBOOT_METHOD=vmss``).

Marks the app leaves on a node (so a restarted orchestration, or an operator, can tell
what the app did): ``CORDONED_BY_US_ANNOTATION`` is set when *we* cordoned the node and
removed when we uncordon it; a node cordoned without it was cordoned by someone else and
is never uncordoned by us.
"""

from __future__ import annotations

import json
import re

_PACKAGE = re.compile(r"^[A-Za-z0-9.+:~-]+$")

ROLE_LABEL = "rebooter.aks.io/role"
ROLE_PROBE = "probe"
ROLE_REBOOT = "reboot"
RUN_LABEL = "rebooter.aks.io/run"
NODE_LABEL = "rebooter.aks.io/node"

PROBE_NAMESPACE = "kube-system"
REBOOT_NAMESPACE = "kube-system"
PROBE_IMAGE = "mcr.microsoft.com/cbl-mariner/busybox:2.0"
REBOOT_IMAGE = "mcr.microsoft.com/cbl-mariner/busybox:2.0"
PROBE_RUNNER_FILE = "rebooter-probe.sh"

SENTINEL = "/var/run/reboot-required"
SENTINEL_PKGS = "/var/run/reboot-required.pkgs"
REBOOT_COMMAND = ["nsenter", "-m/proc/1/ns/mnt", "--", "/bin/systemctl", "reboot"]

CORDONED_BY_US_ANNOTATION = "rebooter.aks.io/cordoned-by"
REBOOT_STATE_ANNOTATION = "rebooter.aks.io/reboot-state"
LAST_REBOOT_ANNOTATION = "rebooter.aks.io/last-reboot"

# kured's --prefer-no-schedule-taint (kured cmd/kured/main.go: "Taint name applied during pending
# node reboot ... Disabled by default. Set e.g. to weave.works/kured-node-reboot"; newer releases
# suggest kured.dev/kured-node-reboot): while a reboot is pending the node carries a
# PreferNoSchedule taint, so the scheduler prefers other nodes for new pods and the drain has less
# to move. Ours has its own key and is on by default (REBOOTER_PREFER_NO_SCHEDULE_TAINT); only a
# taint with this key and effect is ever removed by the app.
PENDING_TAINT_KEY = "rebooter.aks.io/reboot-pending"
PENDING_TAINT_EFFECT = "PreferNoSchedule"

# Runs on the node inside the probe pod. HOST_ROOT lets the test run it against a
# fake root; BOOT_ID_FILE and KERNEL_CMD are the host's own (not namespaced in Linux).
NODE_PROBE_SCRIPT = r"""
root="${HOST_ROOT:-/host}"
node="${NODE_NAME:?}"
boot="$(cat "${BOOT_ID_FILE:-/proc/sys/kernel/random/boot_id}")"
kernel="$(${KERNEL_CMD:-uname -r})"
if [ -e "$root/var/run/reboot-required" ]; then required=true; else required=false; fi
pkgs=""
if [ -r "$root/var/run/reboot-required.pkgs" ]; then
  pkgs="$(sort -u "$root/var/run/reboot-required.pkgs" | grep -E '^[A-Za-z0-9.+:~-]+$' | sed 's/.*/"&"/' | tr '\n' ',' | sed 's/,$//')"
fi
printf '{"node":"%s","rebootRequired":%s,"packages":[%s],"bootId":"%s","kernel":"%s"}\n' \
  "$node" "$required" "$pkgs" "$boot" "$kernel"
""".strip()


def probe_line(node: str, reboot_required: bool, packages: list[str], boot_id: str, kernel: str) -> str:
    """The exact line NODE_PROBE_SCRIPT prints, so the sandbox answers like a real node."""
    pkgs = sorted({p for p in packages if _PACKAGE.match(p)})
    return json.dumps(
        {"node": node, "rebootRequired": reboot_required, "packages": pkgs, "bootId": boot_id, "kernel": kernel},
        separators=(",", ":"),
    )


def reboot_pod_name(node: str) -> str:
    """Deterministic, so creating it twice is a no-op (409) and the activity stays idempotent."""
    return f"rebooter-reboot-{node}"[:253]
