"""Sandbox: the whole sandbox AKS cluster (ARM emulator + Kubernetes API emulator) on loopback.

    with Sandbox("lab/scenarios/demo.yaml").start() as sb:
        sb.arm_url, sb.ca_file, sb.kubeconfig_path, sb.cluster_resource_id, sb.timeline, sb.cluster

Both servers bind 127.0.0.1 on a free port and serve HTTPS with one throw-away CA
(``ca_file``). ``kubeconfig_path`` is an admin kubeconfig for kubectl; the ARM emulator hands
out kubeconfigs for the same API server. Scenario faults are armed when ``start`` returns;
``sb.faults.add(...)`` injects more while it runs.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path

from lab.sandbox import scenario as scenario_mod
from lab.sandbox.arm import ArmEmulator
from lab.sandbox.certs import make_certs
from lab.sandbox.cluster import SandboxCluster
from lab.sandbox.faults import FaultPlan
from lab.sandbox.kube.server import FaultAction, KubeApiServer
from lab.sandbox.kubeconfig import kubeconfig_yaml
from lab.sandbox.model import KUBE_FAULTS, Scenario
from lab.sandbox.runcommand import RunCommandExecutor
from lab.sandbox.serverthread import ServerThread
from lab.sandbox.timeline import Timeline


class Sandbox:
    def __init__(self, scenario: Scenario | str | os.PathLike | dict, workdir: str | os.PathLike | None = None) -> None:
        self.scenario = scenario if isinstance(scenario, Scenario) else scenario_mod.load(scenario)
        self._own_dir = workdir is None
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="aks-sandbox-"))
        self.timeline = Timeline()
        self.faults = FaultPlan(self.scenario.faults, self.scenario)
        self.cluster: SandboxCluster | None = None
        self.kube: KubeApiServer | None = None
        self.arm: ArmEmulator | None = None
        self._arm_server: ServerThread | None = None
        self.arm_url = self.kube_url = self.ca_file = self.kubeconfig_path = ""
        self.token = secrets.token_hex(24)
        self.startup_seconds = 0.0

    @property
    def cluster_resource_id(self) -> str:
        return self.scenario.cluster.resource_id

    @property
    def node_resource_group(self) -> str:
        return self.scenario.cluster.node_resource_group

    def start(self) -> Sandbox:
        began = time.monotonic()
        self.workdir.mkdir(parents=True, exist_ok=True)
        certs = make_certs(self.workdir)
        self.ca_file = certs.ca_file
        try:
            self.cluster = SandboxCluster(self.scenario, self.timeline, self.faults)
            self.kube = KubeApiServer(self.cluster.store, certs.server_context(), "127.0.0.1", 0,
                                      version=f"v{self.scenario.cluster.kubernetes_version}")
            self.kube.fault_hook = self._kube_fault
            self.kube_url = self.kube.start()
            self._ca_pem = certs.ca_pem
            path = self.workdir / "kubeconfig"
            path.write_text(self.credentials(admin=True))
            self.kubeconfig_path = str(path)
            executor = RunCommandExecutor(self.credentials(admin=True), self.workdir / "run-command",
                                          self.scenario.timings, self.faults, self.timeline,
                                          token_kubeconfig=self._token_kubeconfig, pods=self.cluster)
            self.arm = ArmEmulator(self.scenario, self.cluster, self.faults, self.timeline, executor, self.credentials)
            self._arm_server = ServerThread(self.arm.app(), certs.server_context(), name="arm-emulator")
            self.arm_url = self._arm_server.start()
        except BaseException:
            self.stop()
            raise
        self.faults.start()
        self.startup_seconds = time.monotonic() - began
        self.timeline.record("sandbox", phase="started", armUrl=self.arm_url, kubeUrl=self.kube_url,
                             nodes=len(self.scenario.nodes), seconds=round(self.startup_seconds, 3))
        return self

    def credentials(self, admin: bool) -> str:
        """The kubeconfig ARM hands out: a token (local accounts) or kubelogin (Entra ID user credential)."""
        aad = self.scenario.cluster.aad_enabled and not admin
        return kubeconfig_yaml(self.scenario.cluster, self.kube_url, self._ca_pem, self.token, admin=admin,
                               aad_exec=aad)

    def _token_kubeconfig(self, token: str) -> str:
        return kubeconfig_yaml(self.scenario.cluster, self.kube_url, self._ca_pem, token)

    def _kube_fault(self, method: str, path: str) -> FaultAction | None:
        fault = self.faults.match(KUBE_FAULTS, method, path)
        if fault is None:
            return None
        self.timeline.record("kube_fault", fault=fault.type, method=method, path=path)
        if fault.type == "kubeApiError":
            return FaultAction(status=fault.status)
        if fault.type == "kubeApiThrottle":
            return FaultAction(status=429, retry_after=fault.retry_after, reason="TooManyRequests",
                               message="Too many requests, please try again later.")
        return FaultAction(status=504, delay_seconds=fault.delay, reason="Timeout",
                           message="The server was unable to return a response in the time allotted, but may still "
                                   "be processing the request")

    def stop(self) -> None:
        if self._arm_server is not None:
            self._arm_server.stop()
            self._arm_server = None
        if self.kube is not None:
            self.kube.stop()
            self.kube = None
        if self.cluster is not None:
            self.cluster.stop()
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        if not self.arm_url:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
