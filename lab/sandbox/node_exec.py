"""Running a reboot pod's command for real, with only what its image contains.

The sandbox's kubelet does not pretend to know what a reboot pod does: it runs the container's
command with a real shell, in a scratch directory, with ``PATH`` holding only the executables of
the pod's image (sandbox.images) and nothing else, so a command the image lacks fails the way it
fails in the image (``sh: x: not found``, exit 127). The host is modelled by two things:

* the node's boot ID file: the kernel's ``/proc/sys/kernel/random/boot_id`` is not namespaced, so
  a container reads the host's value; here it is a file per node holding the node's current boot
  ID, passed to the script as ``BOOT_ID_FILE`` (the override hook ``rebooter.contract`` documents);
* ``chroot``: replaced by a recorder. The kubelet then checks what was asked: the new root must be
  where the pod mounted the host's ``/`` (a hostPath volume), and the program run there must be
  ``/bin/systemctl reboot``; anything else fails like busybox's chroot does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lab.sandbox.images import Image

HOST_REBOOT = ["/bin/systemctl", "reboot"]
_CHROOT_RECORDER = '#!/bin/sh\nprintf "%s\\n" "$@" > "$SANDBOX_CHROOT_CALL"\n'
TIME_LIMIT_SECONDS = 10.0


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    log: str
    reboot: bool  # the command asked the host to reboot (chroot <host root> /bin/systemctl reboot)


class NodeExec:
    """Scratch space for the kubelet: per-image PATH directories and per-node boot ID files."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="sandbox-kubelet-"))
        self._bins: dict[str, Path] = {}

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def boot_id_file(self, node: str, boot_id: str) -> Path:
        """The node's /proc/sys/kernel/random/boot_id, holding its current boot ID."""
        path = self.root / "hosts" / node / "proc/sys/kernel/random/boot_id"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(boot_id + "\n")
        return path

    def _bin(self, image: Image) -> Path:
        """A directory with one entry per executable of the image (those this machine also has)."""
        if image.ref in self._bins:
            return self._bins[image.ref]
        path = self.root / "images" / str(len(self._bins))
        path.mkdir(parents=True)
        for name in sorted(image.executables or ()):
            if name == "chroot":
                (path / name).write_text(_CHROOT_RECORDER)
                (path / name).chmod(0o755)
            elif "/" not in name and (real := shutil.which(name)):
                (path / name).symlink_to(real)
        self._bins[image.ref] = path
        return path

    def run(self, node: str, boot_id: str, image: Image, container: dict, env: dict[str, str],
            host_root_mounts: set[str]) -> Outcome:
        """Run the container's command; ``host_root_mounts`` are where the pod mounted the host's /."""
        bin_dir = self._bin(image)
        work = Path(tempfile.mkdtemp(dir=self.root, prefix="run-"))
        try:
            call = work / "chroot-call"
            command = list(container.get("command") or []) + list(container.get("args") or [])
            exe = command[0].rsplit("/", 1)[-1]
            program = "/bin/sh" if exe == "sh" else str(bin_dir / exe)
            full_env = {**env, "PATH": str(bin_dir), "BOOT_ID_FILE": str(self.boot_id_file(node, boot_id)),
                        "SANDBOX_CHROOT_CALL": str(call), "HOME": "/root"}
            try:
                done = subprocess.run([program, *command[1:]], env=full_env, cwd=work, capture_output=True,
                                      text=True, timeout=TIME_LIMIT_SECONDS, check=False)
                code, log = done.returncode, done.stdout + done.stderr
            except FileNotFoundError:
                return Outcome(127, f"sh: {command[0]}: not found\n", False)
            except subprocess.TimeoutExpired:
                return Outcome(137, f"sandbox: still running after {TIME_LIMIT_SECONDS:.0f}s; killed\n", False)
            if not call.exists():
                return Outcome(code, log, False)
            args = call.read_text().splitlines()
            return _judge_chroot(args, host_root_mounts, log)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def _judge_chroot(args: list[str], host_root_mounts: set[str], log: str) -> Outcome:
    """What busybox chroot would have done with these arguments on a node."""
    if not args:
        return Outcome(1, log + "BusyBox v1.36.1 multi-call binary.\n\nUsage: chroot NEWROOT [PROG ARGS]\n", False)
    root, program = os.path.normpath(args[0]), args[1:] or ["/bin/sh", "-i"]
    if root not in host_root_mounts:
        return Outcome(1, log + f"chroot: can't change root directory to '{args[0]}': No such file or directory\n",
                       False)
    if program != HOST_REBOOT:
        return Outcome(127, log + f"chroot: can't execute '{program[0]}': not modelled by the sandbox\n", False)
    return Outcome(0, log, True)


def host_root_mounts(pod: dict, container: dict) -> set[str]:
    """Mount paths at which this container sees the host's / (hostPath path "/")."""
    volumes = {v.get("name"): v for v in (pod.get("spec") or {}).get("volumes") or []}
    out = set()
    for mount in container.get("volumeMounts") or []:
        volume = volumes.get(mount.get("name")) or {}
        if os.path.normpath(((volume.get("hostPath") or {}).get("path")) or "-") == "/":
            out.add(os.path.normpath(mount.get("mountPath", "")))
    return out


def container_env(pod: dict, container: dict) -> dict[str, str]:
    """The container's environment: plain values and the spec.nodeName / metadata field refs."""
    env: dict[str, str] = {}
    for item in container.get("env") or []:
        if "value" in item:
            env[item["name"]] = str(item["value"])
            continue
        path = (((item.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")) or ""
        if path == "spec.nodeName":
            env[item["name"]] = (pod.get("spec") or {}).get("nodeName", "")
        elif path in ("metadata.name", "metadata.namespace"):
            env[item["name"]] = (pod.get("metadata") or {}).get(path.split(".")[1], "")
    return env
