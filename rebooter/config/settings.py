"""App settings: loading, validation and the views of them that orchestrators and activities carry.

Settings are read from the environment (Azure app settings) by the starters only and passed
to orchestrators as plain JSON in their input, and from there to activities in their payloads:
orchestrators must not read the environment (they are replayed) and a cluster's settings can
differ from the app's. The table of every setting (type, bounds, scope, safe direction) is
``SETTINGS`` in rebooter.config.registry; this module parses the environment against it, applies
per-cluster and per-cycle overrides, re-checks an orchestration's input, and renders the
README table.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from rebooter.config import names
from rebooter.config.registry import SETTINGS, WEEK, Setting, by_key
from rebooter.config.scopes import APP
from rebooter.config.setting_types import _scalar
from rebooter.notifications import events as notify_events
from rebooter.policy import alerts, window_settings

__all__ = ["SETTINGS", "WEEK", "LooseningError", "Setting", "SettingsError", "apply_overrides", "for_cluster", "load",
           "revalidate"]


class SettingsError(ValueError):
    """One or more settings are invalid; the message names each one and the expected form."""


class LooseningError(SettingsError):
    """A per-cycle override would make the cycle less safe than the app's settings (HTTP 403)."""

    def __init__(self, keys: list[str], message: str) -> None:
        super().__init__(message)
        self.keys = keys


def load(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Parse every setting; raise one SettingsError naming all bad ones (nothing half-loaded)."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    errors: list[str] = []
    for setting in SETTINGS.values():
        raw = env.get(setting.name)
        try:
            values[setting.key] = setting.parse(setting.default if raw is None or raw == "" else raw)
        except ValueError as exc:
            errors.append(f"{setting.name}: {exc}")
    if not errors:
        errors = _cross_checks(values) + _check_cluster_overrides(values)
    if errors:
        raise SettingsError("invalid app settings: " + "; ".join(errors))
    return values


def _cross_checks(values: Mapping[str, Any]) -> list[str]:
    return window_settings.validate_window_settings(values) + alerts.validate_alert_settings(values)


def _check_cluster_overrides(values: dict[str, Any]) -> list[str]:
    """Every REBOOTER_CLUSTER_OVERRIDES entry names exactly one configured cluster, and each
    cluster's merged settings pass the same cross-field checks as the app's."""
    overrides = values["clusterOverrides"]
    if not overrides:
        return []
    refs = [names.parse_cluster_id(c) for c in values["clusters"]]
    errors = []
    for wanted in overrides:
        matching = [names.parse_cluster_id(c) for c in names.configured_named(values["clusters"], wanted)]
        if not matching:
            errors.append(f"REBOOTER_CLUSTER_OVERRIDES: {wanted!r} is not a cluster of REBOOTER_CLUSTERS "
                          "(use its name or its subscription.resourcegroup.name key)")
        elif len(matching) > 1:
            errors.append(f"REBOOTER_CLUSTER_OVERRIDES: {wanted!r} names {len(matching)} clusters; use the "
                          f"subscription.resourcegroup.name key of one: {', '.join(r.key for r in matching)}")
    for ref in refs if not errors else []:
        merged = for_cluster(values, ref.resource_id)
        errors += [f"{e} (with the overrides of cluster {ref.name})" for e in _cross_checks(merged)]
    return errors


def apply_overrides(values: dict[str, Any], overrides: Mapping[str, Any], *, admin: bool = False) -> dict[str, Any]:
    """Per-cycle overrides from an HTTP body, on top of the cluster's settings (``values``).

    Only cycle-scope settings are accepted; every value is parsed like its app setting
    (SettingsError names each bad one). Without ``admin``, an override that is looser than
    ``values`` in its setting's safe direction raises LooseningError naming it (HTTP 403)."""
    allowed = by_key(per_cycle=True)
    merged = dict(values)
    errors: list[str] = []
    for key, raw in overrides.items():
        setting = allowed.get(key)
        if setting is None:
            errors.append(f"overrides.{key}: not an overridable setting (expected one of {', '.join(sorted(allowed))})")
            continue
        try:
            merged[key] = setting.parse(_scalar(raw))
        except ValueError as exc:
            errors.append(f"overrides.{key}: {exc}")
    if errors:
        raise SettingsError("; ".join(errors))
    looser = [key for key in overrides if not allowed[key].safer.allows(values[key], merged[key])]  # type: ignore[union-attr]
    if looser and not admin:
        raise LooseningError(looser, "; ".join(
            f"overrides.{key}: {merged[key]!r} is less safe than this cluster's {values[key]!r} (allowed: "
            f"{allowed[key].safer.describe}); only the admin route may loosen it" for key in looser))  # type: ignore[union-attr]
    return merged


def revalidate(cfg: Mapping[str, Any]) -> list[str]:
    """Check settings an orchestration received (its input is not trusted): every value of a
    known key parses again as its setting, and the cross-field rules hold (for example an Entra
    token only goes to an Azure Monitor host over https). Pure: orchestrators call it."""
    errors = []
    known = by_key()
    for key, value in cfg.items():
        setting = known.get(key)
        if setting is None or setting.scope == APP or isinstance(value, list | dict) or value is None:
            continue  # app-scope settings (timer, ARM) are never read from an orchestration's input
        try:
            reparsed = setting.parse(_scalar(value))
        except ValueError as exc:
            errors.append(f"{setting.name}: {exc}")
            continue
        if reparsed != value and not (isinstance(value, int | float) and float(reparsed) == float(value)):
            errors.append(f"{setting.name}: {value!r} is not in its canonical form {reparsed!r}")
    return errors + alerts.validate_alert_settings(cfg)


def markdown_table() -> str:
    """The README's settings table, generated so it cannot drift from the registry."""
    rows = ["| setting | default | meaning | kured flag | scope | per-cycle override may only be |",
            "| --- | --- | --- | --- | --- | --- |"]
    for s in SETTINGS.values():
        default = f"`{s.default}`" if s.default else "(empty)"
        kured = f"`{s.kured}`" if s.kured else ""
        safer = f"`{s.key}`: {s.safer.describe}" if s.safer else ""
        rows.append(f"| `{s.name}` | {default} | {s.meaning} | {kured} | {s.scope} | {safer} |")
    return "\n".join(rows)


def for_cluster(values: dict[str, Any], cluster_id: str) -> dict[str, Any]:
    """The app settings with this cluster's REBOOTER_CLUSTER_OVERRIDES applied."""
    ref = names.parse_cluster_id(cluster_id)
    overrides = values.get("clusterOverrides", {})
    merged = dict(values)
    for key in (ref.name.lower(), ref.key):
        merged.update(overrides.get(key, {}))
    return merged


# What every cluster-touching activity needs from the cluster's settings (kept small: it is in
# every activity's history entry).
ACTIVITY_KEYS = ("credential", "kubeAuth", "optOutLabel", "pauseLabel", "rebootMethod")


def activity_settings(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The ``settings`` of an activity payload: how to reach the cluster and its node labels."""
    return {key: cfg[key] for key in ACTIVITY_KEYS}


def notify_settings(cfg: Mapping[str, Any], event: str) -> dict[str, Any]:
    """The ``settings`` of a notify payload: the cluster's masked URLs, events and this event's
    template (the URL secrets are looked up by the activity, never carried)."""
    key = notify_events.template_key(event)
    return {"notifyUrls": list(cfg.get("notifyUrls") or []), "notifyEvents": list(cfg.get("notifyEvents") or []),
            key: cfg.get(key, "")}


if __name__ == "__main__":
    print(markdown_table())
