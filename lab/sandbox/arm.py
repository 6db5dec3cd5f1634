"""The ARM emulator: the slice of Azure Resource Manager the rebooter uses, over HTTPS.

Managed cluster GET, agent pools (paged, two per page, so nextLink paging is exercised),
cluster credentials (a kubeconfig for the Kubernetes emulator, CA embedded; admin refused
when local accounts are disabled), run-command exactly as AKS answers on the wire (202 +
Location, no Retry-After, no Azure-AsyncOperation; commandResults 202 while running, 200 at
the end, failures as 200 with provisioningState Failed; refused when run-command is disabled, and
on Entra ID clusters without a ``clusterToken`` for the AKS server app), and the node resource group's
scale sets: list/get, VM list/get, and the VM restart long-running operation, which reboots
the node. Every request needs ``Authorization: Bearer ...`` and ``api-version``; paths are
matched case-insensitively like ARM's. Injected faults: throttling (429 + Retry-After) and
5xx errors.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any, Protocol

from aiohttp import web
from yarl import URL

from lab.sandbox import arm_docs
from lab.sandbox.faults import FaultPlan
from lab.sandbox.kubeconfig import AKS_AAD_SERVER_ID
from lab.sandbox.model import Scenario
from lab.sandbox.runcommand import InvalidContext, RunCommandExecutor, token_audience
from lab.sandbox.timeline import Timeline

PAGE_SIZE = 2
_SEG = r"([^/]+)"
_MC = rf"/subscriptions/{_SEG}/resourcegroups/{_SEG}/providers/microsoft\.containerservice/managedclusters/{_SEG}"
_VMSS = rf"/subscriptions/{_SEG}/resourcegroups/{_SEG}/providers/microsoft\.compute/virtualmachinescalesets"
_OPS = rf"/subscriptions/{_SEG}/providers/microsoft\.compute/locations/{_SEG}/operations/{_SEG}"


class ClusterOps(Protocol):
    """What the ARM emulator needs from the simulated cluster."""

    def node_by_vmss_instance(self, vmss: str, instance_id: str) -> str | None: ...

    def reboot_node(self, name: str, via: str) -> None: ...


class ArmEmulator:
    def __init__(self, scenario: Scenario, cluster: ClusterOps, faults: FaultPlan, timeline: Timeline,
                 executor: RunCommandExecutor, credentials) -> None:
        """``credentials(admin: bool) -> kubeconfig YAML`` builds the kubeconfig handed out."""
        self.scenario = scenario
        self.cluster = cluster
        self.faults = faults
        self.timeline = timeline
        self.executor = executor
        self.credentials = credentials
        self.requests: list[tuple[str, str, int]] = []
        self.operations: dict[str, dict[str, Any]] = {}
        self._routes = [
            ("GET", _MC + "$", self.get_cluster),
            ("GET", _MC + "/agentpools$", self.list_pools),
            ("GET", _MC + f"/agentpools/{_SEG}$", self.get_pool),
            ("POST", _MC + "/listclusterusercredential$", self.user_credential),
            ("POST", _MC + "/listclusteradmincredential$", self.admin_credential),
            ("POST", _MC + "/runcommand$", self.run_command),
            ("GET", _MC + f"/commandresults/{_SEG}$", self.command_result),
            ("GET", _VMSS + "$", self.list_vmss),
            ("GET", _VMSS + f"/{_SEG}$", self.get_vmss),
            ("GET", _VMSS + f"/{_SEG}/virtualmachines$", self.list_vms),
            ("GET", _VMSS + f"/{_SEG}/virtualmachines/{_SEG}$", self.get_vm),
            ("POST", _VMSS + f"/{_SEG}/virtualmachines/{_SEG}/restart$", self.restart_vm),
            ("GET", _OPS + "$", self.operation),
        ]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        app.on_cleanup.append(lambda _app: self.executor.close())
        return app

    # ---- plumbing ---------------------------------------------------------------------------

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        response = await self._dispatch(request)
        response.headers.setdefault("x-ms-request-id", str(uuid.uuid4()))
        response.headers.setdefault("x-ms-correlation-request-id", str(uuid.uuid4()))
        self.requests.append((request.method, request.path_qs, response.status))
        if len(self.requests) > 20000:  # keep the log bounded on long runs
            del self.requests[:10000]
        return response

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            missing = "missing" if not auth else "invalid"
            return _json(401, arm_docs.error("AuthenticationFailed", f"Authentication failed. The 'Authorization' header is {missing}."),
                         {"WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/common", '
                                              'error="invalid_token", error_description="The authentication failed '
                                              f"because of {missing} 'Authorization' header.\""})
        audience = token_audience(auth[7:].strip())
        if audience is not None and not _sandbox_audience(audience, request.url.host):
            # ARM checks a token's audience against its own cloud's (401 InvalidAuthenticationTokenAudience,
            # e.g. Azure-Samples/active-directory-dotnetcore-daemon-v2#145). The sandbox's cloud is its
            # loopback host on any port (a bench router may stand in front of several emulators), so a
            # token for a real cloud's ARM is refused. Opaque (non-JWT) test tokens are still accepted.
            origin = str(request.url.origin())
            return _json(401, arm_docs.error(
                "InvalidAuthenticationTokenAudience",
                f"The access token has been obtained for wrong audience or resource '{audience}'. It should exactly "
                f"match with one of the allowed audiences '{origin}/','{origin}'."))
        if not request.query.get("api-version"):
            return _json(400, arm_docs.error("MissingApiVersionParameter",
                                             "The api-version query parameter (?api-version=) is required for all requests."))
        fault = self.faults.match(["armThrottle", "armError"], request.method, request.path)
        if fault is not None:
            self.timeline.record("arm", fault=fault.type, method=request.method, path=request.path)
            if fault.type == "armThrottle":
                return _json(429, arm_docs.error("TooManyRequests", "The request is being throttled as the limit has "
                                                 "been reached for this operation type."),
                             {"Retry-After": str(fault.retry_after)})
            return _json(fault.status, arm_docs.error("InternalServerError", "Encountered internal server error."))
        path = request.path.rstrip("/")
        allowed = []
        for method, pattern, handler in self._routes:
            m = re.fullmatch(pattern, path, re.IGNORECASE)
            if m:
                if method == request.method:
                    return await handler(request, *m.groups())
                allowed.append(method)
        if allowed:
            return _json(405, arm_docs.error("MethodNotAllowed", f"The requested method {request.method} is not allowed."))
        return _json(404, arm_docs.error("InvalidResourceType",
                                         f"The resource type could not be found for the path '{request.path}'."))

    def _check_cluster(self, sub: str, rg: str, name: str) -> web.Response | None:
        c = self.scenario.cluster
        if sub.lower() != c.subscription_id.lower():
            return _json(404, arm_docs.error("SubscriptionNotFound", f"The subscription '{sub}' could not be found."))
        if rg.lower() != c.resource_group.lower():
            return _json(404, arm_docs.error("ResourceGroupNotFound", f"Resource group '{rg}' could not be found."))
        if name.lower() != c.name.lower():
            return _json(404, arm_docs.error(
                "ResourceNotFound", f"The Resource 'Microsoft.ContainerService/managedClusters/{name}' under resource "
                                    f"group '{rg}' was not found. For more details please go to "
                                    "https://aka.ms/ARMResourceNotFoundFix"))
        return None

    def _check_node_rg(self, sub: str, rg: str) -> web.Response | None:
        c = self.scenario.cluster
        if sub.lower() != c.subscription_id.lower():
            return _json(404, arm_docs.error("SubscriptionNotFound", f"The subscription '{sub}' could not be found."))
        if rg.lower() != c.node_resource_group.lower():
            return _json(404, arm_docs.error("ResourceGroupNotFound", f"Resource group '{rg}' could not be found."))
        return None

    # ---- Microsoft.ContainerService ---------------------------------------------------------

    async def get_cluster(self, request: web.Request, sub: str, rg: str, name: str) -> web.Response:
        return self._check_cluster(sub, rg, name) or _json(200, arm_docs.managed_cluster(self.scenario))

    async def list_pools(self, request: web.Request, sub: str, rg: str, name: str) -> web.Response:
        if (bad := self._check_cluster(sub, rg, name)) is not None:
            return bad
        try:
            skip = int(request.query.get("$skipToken", "0"))
        except ValueError:
            return _json(400, arm_docs.error("InvalidSkipToken", "The $skipToken is not valid."))
        pools = self.scenario.pools[skip: skip + PAGE_SIZE]
        body: dict[str, Any] = {"value": [arm_docs.agent_pool(self.scenario, p) for p in pools]}
        if skip + PAGE_SIZE < len(self.scenario.pools):
            query = {"api-version": request.query["api-version"], "$skipToken": str(skip + PAGE_SIZE)}
            body["nextLink"] = str(request.url.with_query(query))
        return _json(200, body)

    async def get_pool(self, request: web.Request, sub: str, rg: str, name: str, pool: str) -> web.Response:
        if (bad := self._check_cluster(sub, rg, name)) is not None:
            return bad
        for p in self.scenario.pools:
            if p.name == pool.lower():
                return _json(200, arm_docs.agent_pool(self.scenario, p))
        return _json(404, arm_docs.error("NotFound", f"Agent pool '{pool}' was not found."))

    async def user_credential(self, request: web.Request, sub: str, rg: str, name: str) -> web.Response:
        return self._check_cluster(sub, rg, name) or self._credential("clusterUser", admin=False)

    async def admin_credential(self, request: web.Request, sub: str, rg: str, name: str) -> web.Response:
        if (bad := self._check_cluster(sub, rg, name)) is not None:
            return bad
        if self.scenario.cluster.disable_local_accounts:
            return _json(400, arm_docs.error("BadRequest", "Getting static credential is not allowed because this "
                                                           "cluster is set to disable local accounts."))
        return self._credential("clusterAdmin", admin=True)

    def _credential(self, label: str, admin: bool) -> web.Response:
        text = self.credentials(admin)
        return _json(200, {"kubeconfigs": [{"name": label, "value": base64.b64encode(text.encode()).decode()}]})

    async def run_command(self, request: web.Request, sub: str, rg: str, name: str) -> web.Response:
        if (bad := self._check_cluster(sub, rg, name)) is not None:
            return bad
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _json(400, arm_docs.error("InvalidRequestContent", "The request content was invalid and could not be deserialized."))
        if not isinstance(body, dict) or not isinstance(body.get("command"), str) or not body["command"].strip():
            return _json(400, arm_docs.error("InvalidParameter", "Required parameter command is missing (null)."))
        refused = self._refuse_run_command(body)
        if isinstance(refused, web.Response):
            return refused
        try:
            cmd = self.executor.submit(body["command"], body.get("context") or "", body.get("clusterToken") or "",
                                       unauthorized=refused)
        except InvalidContext as exc:
            return _json(400, arm_docs.error("InvalidParameter", str(exc)))
        return web.Response(status=202, headers={"Location": self._result_url(request, cmd.id), "Content-Length": "0"})

    def _refuse_run_command(self, body: dict) -> web.Response | bool:
        """What AKS checks before it runs a command: a 400 response, or whether the command's
        kubectl will be refused (True) because its cluster token is not for the AKS server app."""
        c = self.scenario.cluster
        if c.disable_run_command:
            # Modelled: AKS's exact code and message for a cluster with
            # apiServerAccessProfile.disableRunCommand were not found in a public source.
            return _json(400, arm_docs.error("RunCommandDisabled", "Run command is disabled for this managed "
                                             "cluster (apiServerAccessProfile.disableRunCommand is true)."))
        if not c.aad_enabled:
            return False
        token = body.get("clusterToken")
        if not isinstance(token, str) or not token.strip():
            # Code and message as AKS answers them (Azure/azure-rest-api-specs#22467); the status
            # (400) is assumed: the public report shows only the code and message.
            return _json(400, arm_docs.error("MissingAADClusterToken", "This cluster have Azure Active Directory "
                                             "enabled, .clusterToken is required."))
        # Entra ID tokens for the AKS server app carry aud=<its app id> (Azure/azure-powershell#17454);
        # another audience is refused by the API server, not by ARM: the command runs and its
        # kubectl gets 401 (Azure/AKS#2698).
        return token_audience(token) != AKS_AAD_SERVER_ID

    def _result_url(self, request: web.Request, command_id: str) -> str:
        c = self.scenario.cluster
        return (f"{request.url.origin()}/subscriptions/{c.subscription_id}/resourceGroups/{c.resource_group}"
                f"/providers/Microsoft.ContainerService/managedclusters/{c.name}/commandResults/{command_id}"
                f"?api-version={request.query['api-version']}")

    async def command_result(self, request: web.Request, sub: str, rg: str, name: str, command_id: str) -> web.Response:
        if (bad := self._check_cluster(sub, rg, name)) is not None:
            return bad
        cmd = self.executor.get(command_id)
        if cmd is None:
            return _json(404, arm_docs.error("NotFound", f"Command result {command_id} was not found."))
        if cmd.state == "Running":
            return _json(202, cmd.body(), {"Location": self._result_url(request, command_id)})
        return _json(200, cmd.body())

    # ---- Microsoft.Compute (node resource group) --------------------------------------------

    def _pool_of(self, vmss: str):
        for pool in self.scenario.pools:
            if pool.vmss.lower() == vmss.lower():
                return pool
        return None

    async def list_vmss(self, request: web.Request, sub: str, rg: str) -> web.Response:
        return self._check_node_rg(sub, rg) or _json(200, {"value": [arm_docs.vmss(self.scenario, p)
                                                                      for p in self.scenario.pools]})

    async def get_vmss(self, request: web.Request, sub: str, rg: str, vmss: str) -> web.Response:
        if (bad := self._check_node_rg(sub, rg)) is not None:
            return bad
        pool = self._pool_of(vmss)
        return _json(200, arm_docs.vmss(self.scenario, pool)) if pool else _vmss_not_found(rg, vmss)

    async def list_vms(self, request: web.Request, sub: str, rg: str, vmss: str) -> web.Response:
        if (bad := self._check_node_rg(sub, rg)) is not None:
            return bad
        pool = self._pool_of(vmss)
        if pool is None:
            return _vmss_not_found(rg, vmss)
        return _json(200, {"value": [arm_docs.vmss_vm(self.scenario, pool, n.name, n.instance_id, n.zone)
                                     for n in self.scenario.nodes_of(pool.name)]})

    async def get_vm(self, request: web.Request, sub: str, rg: str, vmss: str, iid: str) -> web.Response:
        if (bad := self._check_node_rg(sub, rg)) is not None:
            return bad
        pool, node = self._pool_of(vmss), self.cluster.node_by_vmss_instance(vmss, iid)
        if pool is None or node is None:
            return _vm_not_found(rg, vmss, iid)
        spec = self.scenario.node(node)
        return _json(200, arm_docs.vmss_vm(self.scenario, pool, node, spec.instance_id, spec.zone))

    async def restart_vm(self, request: web.Request, sub: str, rg: str, vmss: str, iid: str) -> web.Response:
        if (bad := self._check_node_rg(sub, rg)) is not None:
            return bad
        node = self.cluster.node_by_vmss_instance(vmss, iid)
        if node is None:
            return _vm_not_found(rg, vmss, iid)
        op_id = str(uuid.uuid4())
        self.operations[op_id] = {"name": op_id, "status": "InProgress", "startTime": _iso()}
        self.timeline.record("arm", operation="restart", node=node, vmss=vmss, instanceId=iid, id=op_id)
        self.cluster.reboot_node(node, via="vmss")
        asyncio.get_running_loop().call_later(self.scenario.timings.arm_operation_seconds, self._finish_op, op_id)
        c = self.scenario.cluster
        url = (f"{request.url.origin()}/subscriptions/{c.subscription_id}/providers/Microsoft.Compute/locations/"
               f"{c.location}/operations/{op_id}?api-version={request.query['api-version']}")
        return web.Response(status=202, headers={"Azure-AsyncOperation": url, "Location": url + "&monitor=true",
                                                 "Content-Length": "0"})

    def _finish_op(self, op_id: str) -> None:
        self.operations[op_id].update(status="Succeeded", endTime=_iso())
        self.timeline.record("arm", operation="restart", phase="succeeded", id=op_id)

    async def operation(self, request: web.Request, sub: str, location: str, op_id: str) -> web.Response:
        op = self.operations.get(op_id)
        if op is None:
            return _json(404, arm_docs.error("NotFound", f"Operation {op_id} was not found."))
        if request.query.get("monitor") == "true":
            if op["status"] == "InProgress":
                return web.Response(status=202, headers={"Location": str(request.url), "Content-Length": "0"})
            return web.Response(status=200, headers={"Content-Length": "0"})
        return _json(200, op)


def _sandbox_audience(audience: str, host: str | None) -> bool:
    """Whether a token's audience is this sandbox's ARM: https on the emulator's own host."""
    url = URL(audience)
    return url.scheme == "https" and url.host is not None and url.host == host and url.path in ("", "/")


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json", headers=headers)


def _iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _vmss_not_found(rg: str, vmss: str) -> web.Response:
    return _json(404, arm_docs.error("ResourceNotFound", f"The Resource 'Microsoft.Compute/virtualMachineScaleSets/"
                                                         f"{vmss}' under resource group '{rg}' was not found."))


def _vm_not_found(rg: str, vmss: str, iid: str) -> web.Response:
    return _json(404, arm_docs.error("ResourceNotFound", f"The Resource 'Microsoft.Compute/virtualMachineScaleSets/"
                                                         f"{vmss}/virtualMachines/{iid}' under resource group '{rg}' "
                                                         "was not found."))
