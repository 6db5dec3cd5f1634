"""What the node-side pods run exists in their image, and the reboot script's boot ID guard works.

The scripts are run for real with a PATH holding only the executables contract.NODE_EXECUTABLES
declares (the shell's builtins aside), so a script that starts calling something else fails here;
the declared executables are checked against the sandbox's copy of the image's build config.
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from lab.sandbox import images
from rebooter import contract
from rebooter.arm.probe_pod import probe_pod_manifest
from rebooter.kube.reboot import reboot_pod_manifest

NODE = "aks-user-12345678-vmss000001"


def only(tmp_path: Path, names: tuple[str, ...]) -> Path:
    """A bin directory with just these executables (chroot replaced by a recorder of its arguments)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in names:
        if name == "chroot":
            (bin_dir / name).write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$CHROOT_CALL"\n')
            (bin_dir / name).chmod(0o755)
        elif real := shutil.which(name):
            (bin_dir / name).symlink_to(real)
    return bin_dir


def test_every_executable_the_pods_call_is_in_the_node_image() -> None:
    image = images.lookup(contract.NODE_IMAGE)
    assert image is not None and image.executables is not None
    for pod, names in contract.NODE_EXECUTABLES.items():
        missing = [n for n in names if n not in image.executables]
        assert not missing, f"{pod} pod calls {missing}, which {contract.NODE_IMAGE} does not have ({image.source})"
    assert "nsenter" not in image.executables and "chroot" in image.executables


def test_the_pods_use_the_node_image_and_start_there() -> None:
    probe = probe_pod_manifest(NODE, "run1", False)["spec"]["containers"][0]
    reboot = reboot_pod_manifest(NODE, "boot-1")["spec"]["containers"][0]
    for container in (probe, reboot):
        assert container["image"] == contract.NODE_IMAGE
        assert images.start_error(images.lookup(container["image"]), container) == ""
    assert probe["command"][0] in contract.NODE_EXECUTABLES["probe"]
    assert reboot["command"][0] in contract.NODE_EXECUTABLES["reboot"]


def test_the_old_reboot_command_cannot_start() -> None:
    old = {"command": ["nsenter", "-m/proc/1/ns/mnt", "--", "/bin/systemctl", "reboot"]}
    for ref in (contract.NODE_IMAGE, "mcr.microsoft.com/cbl-mariner/busybox:2.0"):
        assert 'exec: "nsenter": executable file not found in $PATH' in images.start_error(images.lookup(ref), old)


def test_unknown_images_are_unknown() -> None:
    assert images.lookup("busybox") is None and images.lookup("mcr.microsoft.com/azurelinux/busybox:9.9") is None
    assert images.normalise("nginx") == "docker.io/library/nginx:latest"


def test_the_probe_script_needs_only_what_it_declares(tmp_path) -> None:
    (tmp_path / "var/run").mkdir(parents=True)
    (tmp_path / "var/run/reboot-required").write_text("")
    (tmp_path / "var/run/reboot-required.pkgs").write_text("linux-base\n")
    (tmp_path / "boot_id").write_text("boot-1\n")
    env = {"PATH": str(only(tmp_path, contract.NODE_EXECUTABLES["probe"])), "HOST_ROOT": str(tmp_path),
           "NODE_NAME": NODE, "BOOT_ID_FILE": str(tmp_path / "boot_id")}
    out = subprocess.run(["/bin/sh", "-c", contract.NODE_PROBE_SCRIPT], env=env, capture_output=True, text=True,
                         timeout=10, check=False)
    assert out.returncode == 0, out.stderr
    line = json.loads(out.stdout)
    assert line["rebootRequired"] is True and line["packages"] == ["linux-base"] and line["bootId"] == "boot-1"


def run_reboot(tmp_path: Path, current: str, expected: str) -> tuple[subprocess.CompletedProcess, Path]:
    (tmp_path / "boot_id").write_text(current + "\n")
    call = tmp_path / "chroot-call"
    env = {"PATH": str(only(tmp_path, contract.NODE_EXECUTABLES["reboot"])), "BOOT_ID_FILE": str(tmp_path / "boot_id"),
           contract.EXPECTED_BOOT_ID_ENV: expected, "CHROOT_CALL": str(call)}
    out = subprocess.run(contract.REBOOT_COMMAND, env=env, capture_output=True, text=True, timeout=10, check=False)
    return out, call


def test_the_reboot_script_reboots_the_boot_it_was_asked_for(tmp_path) -> None:
    out, call = run_reboot(tmp_path, "boot-1", "boot-1")
    assert out.returncode == 0, out.stderr
    assert call.read_text().splitlines() == [contract.HOST_ROOT, "/bin/systemctl", "reboot"]


@pytest.mark.parametrize("current", ["boot-2", ""])
def test_the_reboot_script_does_nothing_on_another_boot(tmp_path, current) -> None:
    out, call = run_reboot(tmp_path, current, "boot-1")
    assert out.returncode == 0 and not call.exists()
    assert "nothing to do" in out.stdout


def test_the_reboot_script_refuses_to_run_without_an_expected_boot_id(tmp_path) -> None:
    out, call = run_reboot(tmp_path, "boot-1", "")
    assert out.returncode != 0 and not call.exists()
