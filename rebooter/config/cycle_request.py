"""Validation of patch-cycle requests (HTTP bodies and timer starts) into orchestration input.

Everything an operator can send is checked here before anything is started, and every
error names the field and says what was expected (the HTTP layer answers 400 with it).
"""

from __future__ import annotations

import json
from typing import Any

from rebooter.config import names, settings

FIELDS = ("cluster", "pools", "nodes", "reason", "overrides", "dryRun")
MAX_REASON = 500
# AKS limits (Microsoft Learn, "Quotas, virtual machine size restrictions, and region availability
# in AKS"): at most 5,000 nodes per cluster and 100 node pools; a longer filter is a mistake.
MAX_NODES = 5000
MAX_POOLS = 100


class RequestError(ValueError):
    """A refused request: 400 (invalid) or 403 (an override that loosens safety), naming the field."""

    def __init__(self, field: str, detail: str, status: int = 400) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail
        self.status = status

    def body(self) -> dict[str, str]:
        if self.status == 403:
            return {"error": f"refused: '{self.field}' may only make the cycle safer or slower on this route",
                    "field": self.field, "detail": self.detail}
        return {"error": f"invalid field '{self.field}'", "field": self.field, "detail": self.detail}


def load_json(raw: bytes | str) -> Any:
    """json.loads that turns every parse failure, deep nesting included, into a ValueError."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(str(exc)) from None


def instance_id(cluster_id: str) -> str:
    """One running cycle per cluster, whatever started it: the id is derived from the cluster."""
    return f"patch-cycle.{names.parse_cluster_id(cluster_id).key}"


def _name_list(field: str, value: Any, check, limit: int) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise RequestError(field, f"expected a non-empty list of names, got {type(value).__name__}")
    if len(value) > limit:
        raise RequestError(field, f"expected at most {limit} names, got {len(value)}")
    result = []
    for index, item in enumerate(value):
        try:
            result.append(check(item))
        except ValueError as exc:
            raise RequestError(f"{field}[{index}]", str(exc)) from None
    return sorted(set(result))


def parse_body(raw: bytes | str, app: dict[str, Any], *, admin: bool = False) -> dict[str, Any]:
    """Parse and validate a POST /api/patch-cycles body against the app's settings.

    Every value is checked before anything starts. Overrides go on top of the cluster's settings
    and, unless ``admin`` (the admin-key route), may only make the cycle safer or slower (403)."""
    try:
        body = load_json(raw or b"{}")
    except ValueError as exc:
        raise RequestError("body", f"expected a JSON object, could not parse it: {exc}") from None
    if not isinstance(body, dict):
        raise RequestError("body", f"expected a JSON object, got {type(body).__name__}")
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise RequestError(unknown[0], f"unknown field (expected some of: {', '.join(FIELDS)})")
    if "cluster" not in body:
        raise RequestError("cluster", "required: the AKS resource ID of a configured cluster")
    try:
        ref = names.parse_cluster_id(body["cluster"])
    except ValueError as exc:
        raise RequestError("cluster", str(exc)) from None
    configured = {names.parse_cluster_id(c).key: c for c in app["clusters"]}
    if ref.key not in configured:
        raise RequestError("cluster", "not a configured cluster (add its resource ID to REBOOTER_CLUSTERS)")
    reason = body.get("reason", "on demand")
    if not isinstance(reason, str) or len(reason) > MAX_REASON:
        raise RequestError("reason", f"expected a string of at most {MAX_REASON} characters")
    dry_run = body.get("dryRun", False)
    if not isinstance(dry_run, bool):
        raise RequestError("dryRun", f"expected true or false, got {json.dumps(dry_run)[:50]}")
    overrides = body.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise RequestError("overrides", "expected a JSON object of setting keys to values")
    pools = _name_list("pools", body.get("pools"), names.check_pool_name, MAX_POOLS)
    nodes = _name_list("nodes", body.get("nodes"), names.check_node_name, MAX_NODES)
    try:
        cycle_settings = settings.apply_overrides(settings.for_cluster(app, configured[ref.key]), overrides,
                                                  admin=admin)
    except settings.LooseningError as exc:
        raise RequestError(f"overrides.{exc.keys[0]}", str(exc), status=403) from None
    except settings.SettingsError as exc:
        raise RequestError("overrides", str(exc)) from None
    return cycle_input(configured[ref.key], cycle_settings, reason=reason, trigger="http",
                       pools=pools, nodes=nodes, dry_run=dry_run)


def cycle_input(cluster_id: str, cfg: dict[str, Any], *, reason: str, trigger: str,
                pools: list[str] | None = None, nodes: list[str] | None = None,
                dry_run: bool = False) -> dict[str, Any]:
    """The orchestration input: everything patch_cycle needs, so it never reads settings itself."""
    cfg = {key: value for key, value in cfg.items() if key not in ("clusters", "clusterOverrides")}
    return {"cluster": cluster_id, "settings": cfg, "pools": pools, "nodes": nodes, "reason": reason,
            "trigger": trigger, "dryRun": dry_run}
