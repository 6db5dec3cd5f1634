"""The node-side probe script, run for real, prints exactly what the sandbox's kubelet prints."""

import json
import subprocess
from pathlib import Path

import pytest

from rebooter import contract


def run_probe(tmp_path, required, packages, boot="8c4f-boot", kernel="5.15.0-1075-azure"):
    var_run = tmp_path / "var" / "run"
    var_run.mkdir(parents=True)
    if required:
        (var_run / "reboot-required").write_text("*** System restart required ***\n")
    if packages is not None:
        (var_run / "reboot-required.pkgs").write_text("".join(p + "\n" for p in packages))
    (tmp_path / "boot_id").write_text(boot + "\n")
    env = {"PATH": "/usr/bin:/bin", "HOST_ROOT": str(tmp_path), "NODE_NAME": "aks-user-12345678-vmss000001",
           "BOOT_ID_FILE": str(tmp_path / "boot_id"), "KERNEL_CMD": f"echo {kernel}"}
    out = subprocess.run(["sh", "-c", contract.NODE_PROBE_SCRIPT], env=env, capture_output=True, text=True,
                         check=True, timeout=10)
    return out.stdout


@pytest.mark.parametrize(
    "required,packages",
    [(True, ["linux-image-5.15.0-1079-azure", "linux-base", "linux-base"]), (False, None), (True, [])],
)
def test_node_script_matches_probe_line(tmp_path, required, packages):
    printed = run_probe(tmp_path, required, packages)
    expected = contract.probe_line("aks-user-12345678-vmss000001", required, packages or [], "8c4f-boot",
                                   "5.15.0-1075-azure")
    assert printed == expected + "\n"
    assert json.loads(printed)["rebootRequired"] is required


def test_package_names_that_could_break_json_are_dropped(tmp_path):
    printed = run_probe(tmp_path, True, ['evil"pkg', "ok-pkg"])
    assert json.loads(printed)["packages"] == ["ok-pkg"]


def test_probe_line_drops_the_same_names_as_the_script():
    assert json.loads(contract.probe_line("n", True, ['evil"pkg', "ok-pkg"], "b", "k"))["packages"] == ["ok-pkg"]


def test_every_mark_the_app_writes_is_spelled_only_in_the_contract():
    """Labels, annotations, taints and pod names the app puts on a cluster have one home."""
    root = Path(__file__).resolve().parents[2]
    app = [root / "function_app.py"] + [f for d in ("rebooter", "orchestrators", "activities", "starters", "entities")
                                        for f in sorted((root / d).rglob("*.py"))]
    spelled = [f"{f.relative_to(root)}: {line.strip()}" for f in app if f.name != "contract.py"
               for line in f.read_text().splitlines()
               if "rebooter.aks.io/" in line or '"rebooter-probe' in line or '"rebooter-reboot' in line]
    assert spelled == []
