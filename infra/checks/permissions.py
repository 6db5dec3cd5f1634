"""The permissions the deployed code needs, derived from the calls it makes.

Azure side: every ``<client>.<operation group>.<method>`` of the ARM SDKs the app uses
(azure-mgmt-containerservice, azure-mgmt-compute) is found in the code, and the SDK's own
request builder for that method gives the HTTP method and URL template. ARM authorizes a
request as the action ``<namespace>/<resource types>/{read|write|delete}`` for GET/PUT/DELETE
and ``<namespace>/<resource types>/<operation>/action`` for POST ("Azure resource provider
operations" and "Understand Azure role definitions", learn.microsoft.com/azure/role-based-access-control).

Kubernetes side: every method of a ``kubernetes.client`` API class the code references is
found, and the client's own serializer for it gives the HTTP method and path; the path and
method give the API group, resource, subresource and verb as the API server's request info
does (kubernetes.io/docs/reference/access-authn-authz/authorization: GET of one object is
``get``, of a collection ``list``, POST ``create``, PATCH ``patch``, DELETE ``delete``). The
namespace argument is followed back to a constant where it can be (a literal, a module
constant, a local assignment, or the same argument at every call of the enclosing function);
calls whose namespace is not a constant need the permission in every namespace. The
run-command probe script's kubectl commands (``rebooter.arm.probe.RUNNER_SCRIPT``) are mapped too:
on Entra ID clusters the command runs as the app's identity.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from infra.checks import ROOT, package
from infra.checks.call_args import Resolver

# ------------------------------------------------------------------------------------------
# Azure Resource Manager
# ------------------------------------------------------------------------------------------

ARM_CLIENTS = {
    "azure.mgmt.containerservice": "ContainerServiceClient",
    "azure.mgmt.compute": "ComputeManagementClient",
}


@dataclass(frozen=True)
class ArmCall:
    file: str
    line: int
    group: str  # operation group attribute, e.g. managed_clusters
    method: str
    http_method: str
    url: str
    action: str


@lru_cache(maxsize=1)
def _operation_groups() -> dict[str, tuple[object, type]]:
    """``{attribute: (operations module, operations class)}`` of every ARM client used."""
    groups: dict[str, tuple[object, type]] = {}
    for module_name, client_name in ARM_CLIENTS.items():
        client = getattr(importlib.import_module(module_name), client_name)
        operations = importlib.import_module(f"{module_name}.operations._operations")
        for attribute, class_name in re.findall(r"self\.(\w+) = (\w+)\(", inspect.getsource(client.__init__)):
            if hasattr(operations, class_name):
                groups[attribute] = (operations, getattr(operations, class_name))
    return groups


@cache
def _arm_request(module: object, cls: type, method: str, depth: int = 0) -> tuple[str, str]:
    """(HTTP method, URL template) the SDK sends for ``cls.method`` (following ``_x_initial``)."""
    source = inspect.getsource(getattr(cls, method))
    builder = re.search(r"\b(build_\w+_request)\(", source)
    if builder is None:
        initial = re.search(r"self\.(_\w+_initial)\(", source)
        if initial is None or depth > 2:
            raise LookupError(f"{cls.__name__}.{method}: no request builder found")
        return _arm_request(module, cls, initial.group(1), depth + 1)
    built = inspect.getsource(getattr(module, builder.group(1)))
    url = re.search(r'_url = "([^"]+)"', built)
    verb = re.search(r'method="(\w+)"', built)
    if url is None or verb is None:
        raise LookupError(f"{builder.group(1)}: no URL or method")
    return verb.group(1), url.group(1)


def arm_action(http_method: str, url: str) -> str:
    """The RBAC action ARM checks for a request (see the module docstring)."""
    path = url.rsplit("/providers/", 1)[1]
    parts = [part for part in path.split("/") if not part.startswith("{")]
    if http_method == "POST":
        return "/".join(parts) + "/action"
    return "/".join(parts) + "/" + {"GET": "read", "HEAD": "read", "PUT": "write", "PATCH": "write",
                                    "DELETE": "delete"}[http_method]


def arm_calls(files: Iterable[Path]) -> list[ArmCall]:
    """Every ARM SDK operation the files call, with the action it needs."""
    groups = _operation_groups()
    found = []
    for file in files:
        tree = ast.parse(file.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and node.value.attr in groups:
                module, cls = groups[node.value.attr]
                if node.attr.startswith("_") or not callable(getattr(cls, node.attr, None)):
                    continue
                http_method, url = _arm_request(module, cls, node.attr)
                found.append(ArmCall(_rel(file), node.lineno, node.value.attr, node.attr, http_method, url,
                                     arm_action(http_method, url)))
    return found


# ------------------------------------------------------------------------------------------
# Kubernetes
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KubeNeed:
    group: str
    resource: str  # with subresource: pods/eviction
    verb: str
    namespace: str | None  # None: any namespace (or a cluster-scoped resource)
    where: str  # file:line, or the probe script's command

    @property
    def rule(self) -> tuple[str, str, str]:
        return self.group, self.resource, self.verb


# Discovery calls every authenticated user may make (system:discovery); no RBAC rule needed.
_DISCOVERY = {"get_api_resources", "get_api_group", "get_api_versions", "get_code"}


@lru_cache(maxsize=1)
def _kube_method_index() -> dict[str, tuple[str, str]]:
    """``{method: (module, class)}`` of every kubernetes client API method, read from the source
    files (importing the whole client package would load hundreds of model modules)."""
    spec = importlib.util.find_spec("kubernetes.client.api")
    index: dict[str, tuple[str, str]] = {}
    for file in sorted(Path(next(iter(spec.submodule_search_locations))).glob("*_api.py")):
        source = file.read_text(encoding="utf-8")
        owner = re.search(r"^class (\w+Api)\b", source, re.M)
        if owner is None:
            continue
        for method in re.findall(r"^    def ([a-z]\w*)\(\s*self", source, re.M):
            if not method.endswith("_with_http_info") and method not in _DISCOVERY \
                    and f"def _{method}_serialize(" in source:
                index.setdefault(method, (f"kubernetes.client.api.{file.stem}", owner.group(1)))
    return index


def _kube_class(method: str) -> type:
    module, owner = _kube_method_index()[method]
    return getattr(importlib.import_module(module), owner)


@cache
def kube_request(method: str) -> tuple[str, str]:
    """(HTTP method, path template) the kubernetes client sends for ``method``."""
    cls = _kube_class(method)
    source = inspect.getsource(getattr(cls, f"_{method}_serialize"))
    match = re.search(r"method='(\w+)',\s*resource_path='([^']+)'", source)
    if match is None:
        raise LookupError(f"{cls.__name__}.{method}: no method/path in its serializer")
    return match.group(1), match.group(2)


def kube_rule(http_method: str, path: str, watch: bool = False) -> tuple[str, str, str, bool]:
    """(group, resource[/subresource], verb, namespaced) of one API request."""
    parts = path.strip("/").split("/")
    group, rest = ("", parts[2:]) if parts[0] == "api" else (parts[1], parts[3:])
    namespaced = len(rest) > 2 and rest[0] == "namespaces" and rest[1] == "{namespace}"
    if namespaced:
        rest = rest[2:]
    resource, named, sub = rest[0], len(rest) > 1, rest[2] if len(rest) > 2 else ""
    if http_method == "GET":
        verb = "watch" if watch else ("get" if named else "list")
    else:
        verb = {"POST": "create", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete" if named else "deletecollection"}[http_method]
    return group, f"{resource}/{sub}" if sub else resource, verb, namespaced


def kube_needs(files: Iterable[Path]) -> list[KubeNeed]:
    """What every Kubernetes client call in the files needs, with its namespace when constant."""
    methods = _kube_method_index()
    needs = []
    for file in files:
        tree = ast.parse(file.read_text(encoding="utf-8"))
        resolver = Resolver(tree)
        watched = _watched_methods(tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and node.attr in methods):
                continue
            http_method, path = kube_request(node.attr)
            args, kwargs = resolver.arguments_of(node)
            watch = any(k.arg == "watch" and isinstance(k.value, ast.Constant) and k.value.value is True for k in kwargs)
            for as_watch in (watch, True) if id(node) in watched else (watch,):
                group, resource, verb, namespaced = kube_rule(http_method, path, as_watch)
                namespace = None
                if namespaced:
                    expr = _argument(_kube_class(node.attr), node.attr, "namespace", args, kwargs)
                    namespace = resolver.constant(expr, node) if expr is not None else None
                needs.append(KubeNeed(group, resource, verb, namespace, f"{_rel(file)}:{node.lineno}"))
    return needs


# A list method passed to these is called with watch=True: the official client's
# watch.Watch().stream(fn, ...) (kubernetes-client/python kubernetes/base/watch/watch.py sets
# kwargs["watch"] = True), and rebooter.watching.wait_until, which lists with it and then streams it.
WATCHING_CALLS = {"stream", "wait_until"}


def _watched_methods(tree: ast.AST) -> set[int]:
    """ids of the method references passed as the first argument of a watching call."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Attribute):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in WATCHING_CALLS:
                out.add(id(node.args[0]))
    return out


def _argument(cls: type, method: str, name: str, args: list[ast.expr], kwargs: list[ast.keyword]) -> ast.expr | None:
    for keyword in kwargs:
        if keyword.arg == name:
            return keyword.value
    params = [p for p in inspect.signature(getattr(cls, method)).parameters if p != "self"]
    index = params.index(name) if name in params else -1
    return args[index] if 0 <= index < len(args) else None


# kubectl subcommands of the probe script -> the API requests kubectl makes for them
# (kubernetes/kubectl pkg/cmd: get -l lists; create -f POSTs; wait -l lists then watches;
# logs GETs the pod, then its log; delete -l lists, then DELETEs each object).
KUBECTL_VERBS = {
    "get": [("", "list")],
    "create": [("", "create")],
    "wait": [("", "list"), ("", "watch")],
    "logs": [("", "get"), ("/log", "get")],
    "delete": [("", "list"), ("", "delete")],
}
_KUBECTL = re.compile(r"kubectl (get|create|wait|logs|delete)\b([^|\n;&]*)")


def probe_script_needs(script: str, namespace: str, created_kind: str = "pods") -> list[KubeNeed]:
    """Requests the run-command probe script makes (``ns`` is ``namespace``)."""
    needs = []
    for verb, rest in _KUBECTL.findall(script):
        words = rest.split()
        if verb == "create":
            resource = created_kind  # kubectl create -f -: the probe pod manifests
        elif verb == "logs":
            resource = "pods"
        else:
            resource = words[0]
        resource = {"pod": "pods", "node": "nodes"}.get(resource, resource)
        ns = namespace if ('-n "$ns"' in rest or verb == "create") and resource != "nodes" else None
        for suffix, api_verb in KUBECTL_VERBS[verb]:
            needs.append(KubeNeed("", resource + suffix, api_verb, ns, f"probe script: kubectl {verb} {' '.join(words[:1])}"))
    return needs


def deployed_python() -> list[Path]:
    return [path for path in package.deployed_files() if path.suffix == ".py"]


def code_kube_needs(files: Iterable[Path] | None = None) -> list[KubeNeed]:
    """Kubernetes needs of the deployed code plus the run-command probe script."""
    from rebooter import contract
    from rebooter.arm import probe

    needs = kube_needs(deployed_python() if files is None else files)
    return needs + probe_script_needs(probe.RUNNER_SCRIPT, contract.PROBE_NAMESPACE)


def split_rules(needs: Iterable[KubeNeed]) -> tuple[set[tuple[str, str, str]], dict[str, set[tuple[str, str, str]]]]:
    """(rules needed in every namespace, {namespace: rules needed only there})."""
    needs = list(needs)
    cluster = {need.rule for need in needs if need.namespace is None}
    namespaced: dict[str, set[tuple[str, str, str]]] = {}
    for need in needs:
        if need.namespace is not None and need.rule not in cluster:
            namespaced.setdefault(need.namespace, set()).add(need.rule)
    return cluster, namespaced


def granted(role: dict) -> set[tuple[str, str, str]]:
    """(group, resource, verb) a Role or ClusterRole manifest grants."""
    return {(group, resource, verb) for rule in role.get("rules", []) for group in rule["apiGroups"]
            for resource in rule["resources"] for verb in rule["verbs"]}


def _rel(path: Path) -> str:
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)
