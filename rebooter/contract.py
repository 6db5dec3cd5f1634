"""The contract between the app and the nodes it patches (real AKS nodes or the sandbox).

This module is the one place that says what the app puts on a cluster and what it
expects back. The sandbox's simulated kubelet reads the same constants, so the two
cannot drift apart; ``tests/rebooter/test_contract.py`` runs the real node-side shell script
against a fake host root and checks it prints what :func:`probe_line` prints.

Probe (asking a pool which nodes need a reboot)
    The app submits one AKS run-command per pool. Its context zip carries
    ``PROBE_RUNNER_FILE`` (see ``rebooter.arm.probe``), which, inside the run-command pod,
    creates one short-lived *probe pod* per node of the pool:

    * namespace ``PROBE_NAMESPACE``, ``spec.nodeName`` pinned, tolerating every taint,
      ``restartPolicy: Never``;
    * labels ``ROLE_LABEL=ROLE_PROBE`` and ``RUN_LABEL=<run id>``;
    * the host's ``/var/run`` mounted read-only at ``/host/var/run``;
    * running ``NODE_PROBE_SCRIPT`` with ``sh``, which prints exactly one line,
      :func:`probe_line`, writes the same line as its termination message, and exits 0.

    The runner then waits for the pods to finish, reads every answer from one pod list (the
    termination messages; a pod log only where a message is missing or cut), prints one JSON
    line per node (or ``{"node": ..., "error": ...}`` for a node whose probe pod did not
    finish), and deletes them.

Reboot
    A *reboot pod* named :func:`reboot_pod_name` in ``REBOOT_NAMESPACE`` with label
    ``ROLE_LABEL=ROLE_REBOOT``, ``spec.nodeName`` pinned, privileged, tolerating every taint,
    ``restartPolicy: Never``, ``activeDeadlineSeconds``, the host's root (hostPath ``/``) at
    ``HOST_ROOT``, and the boot ID the reboot was requested from in ``EXPECTED_BOOT_ID_ENV``.
    It runs ``NODE_REBOOT_SCRIPT``: ``chroot`` into the host root and ``/bin/systemctl reboot``
    there (what AKS's node-debugging docs do by hand), but only while the node's boot ID is
    still the expected one. A bare pod with ``restartPolicy: Never`` is at least once: the
    kubelet may start its container again after the node comes back
    (kubernetes/kubernetes#83705), and then the new boot ID makes it a no-op. A node that
    runs it goes down: its Ready condition becomes Unknown, then True again with a new
    ``status.nodeInfo.bootID``; ``kernelVersion`` is the newly installed kernel and the
    sentinel is normally gone (a package may set it again at boot: the health check reports
    that, see rebooter.health). The app deletes the pod once the node is verified.
    The alternative path is the ARM VMSS VM restart call (setting ``REBOOTER_REBOOT_METHOD=vmss``).

Images
    Both pods run ``NODE_IMAGE``. Every executable they call is in ``NODE_EXECUTABLES``, checked
    against that image's build config (see the comment there); the sandbox's kubelet refuses a
    container whose command its image does not have (sandbox.images).

Marks the app leaves on a node (so a restarted orchestration, or an operator, can tell
what the app did): ``CORDONED_BY_US_ANNOTATION`` is set when *we* cordoned the node and
removed when we uncordon it; a node cordoned without it was cordoned by someone else and
is never uncordoned by us. ``REBOOT_FROM_BOOT_ID_ANNOTATION`` (on the node and the reboot pod)
names the boot a reboot was asked from, ``VERIFIED_BOOT_ID_ANNOTATION`` the boot the health
check passed on, ``REBOOT_STATE_ANNOTATION`` / ``LAST_REBOOT_ANNOTATION`` what the last reboot
did, ``LAST_RESULT_ANNOTATION`` the last node result (REBOOTER_ANNOTATE_NODES), and
``QUARANTINE_LABEL`` + ``QUARANTINE_REASON_ANNOTATION`` a node the failure policy quarantined.
The opt-out and pause labels are settings; their defaults are here.
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
# Azure Linux 3.0's busybox (maintained; Azure Linux 2.0 and its cbl-mariner images are retired).
# Built from microsoft/azurelinux branch 3.0: .pipelines/containerSourceData/busybox/Dockerfile-Busybox
# installs busybox 1.36.1 (SPECS/busybox/busybox.spec, configured by SPECS/busybox/busybox-static.config)
# and links every applet into /bin. The same image as AKS's "Connect to AKS cluster nodes" page
# (kubectl debug node/... --image=mcr.microsoft.com/azurelinux/busybox:1.36, then chroot /host).
NODE_IMAGE = "mcr.microsoft.com/azurelinux/busybox:1.36"
PROBE_IMAGE = NODE_IMAGE
REBOOT_IMAGE = NODE_IMAGE
PROBE_RUNNER_FILE = "rebooter-probe.sh"

SENTINEL = "/var/run/reboot-required"
HOST_ROOT = "/host"  # where the reboot pod mounts the host's / (hostPath), as kubectl debug node does
EXPECTED_BOOT_ID_ENV = "EXPECTED_BOOT_ID"
REBOOT_ACTIVE_DEADLINE_SECONDS = 300  # the kubelet kills a reboot pod still active after this (both runs)

CORDONED_BY_US_ANNOTATION = "rebooter.aks.io/cordoned-by"
REBOOT_STATE_ANNOTATION = "rebooter.aks.io/reboot-state"
# Reboot state from the moment a reboot was requested until the health check passes.
REBOOT_STATE_REBOOTING = "rebooting"
# Reboot state of a node whose sentinel was back right after our reboot, and its packages then.
REBOOT_STATE_STILL_REQUIRED = "still-required"
STILL_REQUIRED_PACKAGES_ANNOTATION = "rebooter.aks.io/still-required-packages"
LAST_REBOOT_ANNOTATION = "rebooter.aks.io/last-reboot"
REBOOT_FROM_BOOT_ID_ANNOTATION = "rebooter.aks.io/reboot-from-boot-id"  # boot ID a reboot was requested from
VERIFIED_BOOT_ID_ANNOTATION = "rebooter.aks.io/verified-boot-id"  # boot ID the health check passed on
LAST_RESULT_ANNOTATION = "rebooter.aks.io/last-result"
QUARANTINE_LABEL = "rebooter.aks.io/quarantined"
QUARANTINE_REASON_ANNOTATION = "rebooter.aks.io/quarantine-reason"
DEFAULT_OPT_OUT_LABEL = "rebooter.aks.io/opt-out"  # REBOOTER_OPT_OUT_LABEL's default
DEFAULT_PAUSE_LABEL = "rebooter.aks.io/paused"  # REBOOTER_PAUSE_LABEL's default

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
line="$(printf '{"node":"%s","rebootRequired":%s,"packages":[%s],"bootId":"%s","kernel":"%s"}' \
  "$node" "$required" "$pkgs" "$boot" "$kernel")"
printf '%s\n' "$line"
# The same line as the container's termination message (terminationMessagePolicy File, the
# default): the kubelet puts it in status.containerStatuses[].state.terminated.message, so one
# pod list reads every probe's answer without a log request per pod.
tl="${TERMINATION_LOG:-/dev/termination-log}"
if [ -w "$tl" ]; then printf '%s' "$line" > "$tl"; fi
""".strip()


# Runs in the reboot pod. The boot ID file is the kernel's (not namespaced), the same value the
# kubelet reports as status.nodeInfo.bootID (cadvisor reads /proc/sys/kernel/random/boot_id). A run
# after the node rebooted (kubernetes/kubernetes#83705) sees another boot ID and does nothing.
# BOOT_ID_FILE and HOST_ROOT are overridable only so tests can run it against a fake root.
NODE_REBOOT_SCRIPT = r"""
expected="${EXPECTED_BOOT_ID:?}"
current="$(cat "${BOOT_ID_FILE:-/proc/sys/kernel/random/boot_id}")"
if [ "$current" != "$expected" ]; then
  echo "boot ID is $current, the reboot was asked for boot $expected: this node has rebooted since; nothing to do"
  exit 0
fi
echo "rebooting: boot ID $current"
exec chroot "${HOST_ROOT:-/host}" /bin/systemctl reboot
""".strip()
REBOOT_COMMAND = ["sh", "-c", NODE_REBOOT_SCRIPT]

# Every executable the probe, verification (the same probe pod) and reboot pods call inside
# NODE_IMAGE, checked one by one against microsoft/azurelinux branch 3.0
# SPECS/busybox/busybox-static.config (commit 2172d5cf45e4): CONFIG_SH_IS_ASH=y (sh), CONFIG_CAT=y,
# CONFIG_UNAME=y, CONFIG_TEST=y + CONFIG_TEST1=y ([; also ash's builtin, CONFIG_ASH_TEST=y),
# CONFIG_SORT=y, CONFIG_GREP=y (-E is grep's own option), CONFIG_SED=y, CONFIG_TR=y, CONFIG_PRINTF=y
# (and CONFIG_ASH_PRINTF=y), CONFIG_ECHO=y (and CONFIG_ASH_ECHO=y), CONFIG_CHROOT=y;
# "# CONFIG_NSENTER is not set". /bin/systemctl is the host's, run inside the chroot.
# tests/rebooter/test_node_images.py checks these lists against the scripts and the sandbox's image data.
NODE_EXECUTABLES = {
    "probe": ("sh", "cat", "uname", "[", "sort", "grep", "sed", "tr", "printf"),
    "reboot": ("sh", "cat", "[", "echo", "chroot"),
}


def probe_line(node: str, reboot_required: bool, packages: list[str], boot_id: str, kernel: str) -> str:
    """The exact line NODE_PROBE_SCRIPT prints, so the sandbox answers like a real node."""
    pkgs = sorted({p for p in packages if _PACKAGE.match(p)})
    return json.dumps(
        {"node": node, "rebootRequired": reboot_required, "packages": pkgs, "bootId": boot_id, "kernel": kernel},
        separators=(",", ":"),
    )


def probe_pod_name(node: str, run_id: str) -> str:
    """Deterministic name ``rebooter-<run id>-<node>``, at most 63 characters (the health check's)."""
    return f"rebooter-{run_id}-{node}"[:63].rstrip("-.")


def probe_pod_generate_name(node: str) -> str:
    """The prefix the server completes (``rebooter-probe-<node>-xxxxx``) for the run-command probe's pods."""
    return f"rebooter-probe-{node}"[:57].rstrip("-.") + "-"


def reboot_pod_name(node: str) -> str:
    """Deterministic, so creating it twice is a no-op (409) and the activity stays idempotent."""
    return f"rebooter-reboot-{node}"[:253]
