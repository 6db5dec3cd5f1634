"""The settings registry: every knob the product reads, with its default, parser, meaning, kured
equivalent, scope and, for per-cycle settings, the direction an override may take.

``SETTINGS`` is the single table: loading and validation (rebooter.config.settings), the README
table, the Bicep app settings and the lab's defaults all come from it (tests check they agree).
The parsers live in rebooter.config.setting_types, the scopes and directions in
rebooter.config.scopes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rebooter import contract
from rebooter.config.scopes import (
    APP,
    CLUSTER,
    CYCLE,
    GRACE,
    SAME,
    Direction,
    keep,
    larger,
    order,
    smaller,
    zero_is_unlimited,
)
from rebooter.config.setting_types import (
    WEEK,
    _bool,
    _choice,
    _clusters,
    _dates,
    _hhmm,
    _int,
    _labels,
    _ncrontab,
    _scalar,
    _seconds,
    _selector,
    _text,
    _time_zone,
    _url,
    _window_days,
)
from rebooter.notifications import events as notify_events
from rebooter.notifications import settings as notify_settings
from rebooter.policy import alerts, labelselector

__all__ = ["SETTINGS", "WEEK", "Setting", "by_key"]


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    parse: Callable[[str], Any]
    meaning: str
    kured: str = ""
    scope: str = CLUSTER  # app | cluster (REBOOTER_CLUSTER_OVERRIDES) | cycle (also POST overrides)
    safer: Direction | None = None  # cycle scope: which way a per-cycle override may move it

    @property
    def per_cycle(self) -> bool:
        """May be overridden in POST /api/patch-cycles "overrides"."""
        return self.scope == CYCLE

    @property
    def key(self) -> str:
        """The key used in the JSON passed to orchestrators and in HTTP overrides."""
        parts = self.name.removeprefix("REBOOTER_").lower().split("_")
        return parts[0] + "".join(p.title() for p in parts[1:])


def _cluster_overrides(raw: str) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(raw or "{}")
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"expected a JSON object, could not parse it: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ValueError('expected {"<cluster name>": {"<setting key>": value}}')
    known = by_key()
    parsed: dict[str, dict[str, Any]] = {}
    for cluster, overrides in data.items():
        parsed[cluster.lower()] = {}
        for key, value in overrides.items():
            setting = known.get(key)
            if setting is None:
                raise ValueError(f"{cluster}.{key}: not a setting key (e.g. maxUnavailable, paused, windowStart)")
            if setting.scope == APP:
                raise ValueError(f"{cluster}.{key}: {setting.name} is app-wide and cannot be set per cluster")
            try:
                parsed[cluster.lower()][key] = setting.parse(_scalar(value))
            except ValueError as exc:
                raise ValueError(f"{cluster}.{key}: {exc}") from None
    return parsed


def _cycle(safer: Direction) -> dict[str, Any]:
    """Scope cycle: overridable per cycle, only in the ``safer`` direction on the function-key route."""
    return {"scope": CYCLE, "safer": safer}


S = Setting
SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in [
        S("REBOOTER_CLUSTERS", "", _clusters, "AKS resource IDs the timer patches (comma or space separated).",
          scope=APP),
        S("REBOOTER_SCHEDULE", "0 0 * * * *", _ncrontab, "NCRONTAB schedule of the timer trigger (hourly).", "period",
          scope=APP),
        S("REBOOTER_TASK_HUB", "rebooter", _text, "Durable task hub name (read by the Functions host through host.json).",
          scope=APP),
        S("REBOOTER_ARM_ENDPOINT", "https://management.azure.com", _url, "Azure Resource Manager endpoint.", scope=APP),
        S("REBOOTER_ARM_CA_BUNDLE", "", _text, "CA file to trust for ARM (the sandbox only; empty = system CAs).",
          scope=APP),
        S("REBOOTER_CREDENTIAL", "default", _choice("default", "sandbox"),
          "`default`: DefaultAzureCredential (managed identity in Azure); `sandbox`: a static token for the local sandbox."),
        S("REBOOTER_KUBE_AUTH", "auto", _choice("auto", "entra", "admin"),
          "Kubernetes credentials: `entra` (Entra ID token, AAD clusters), `admin` (local admin kubeconfig), `auto` (from the cluster)."),
        S("REBOOTER_REBOOT_METHOD", "pod", _choice("pod", "vmss"),
          "`pod`: a short-lived privileged pod chroots into the host and runs systemctl reboot (kured's method, "
          "guarded by the node's boot ID); `vmss`: ARM VMSS VM restart.",
          "reboot-method"),
        S("REBOOTER_MAX_UNAVAILABLE", "1", _int(1, 100), "Nodes out of service at once, cluster-wide.", "concurrency",
          **_cycle(smaller())),
        S("REBOOTER_PROBE_POLL_SECONDS", "5", _seconds, "Interval between run-command result polls (durable timer)."),
        S("REBOOTER_PROBE_TIMEOUT_SECONDS", "300", _seconds, "Give up on a pool's probe after this long."),
        S("REBOOTER_PROBE_POD_TIMEOUT_SECONDS", "60", _int(5, 600),
          "How long the run-command waits for the per-node probe pods before reporting them unfinished."),
        S("REBOOTER_LOCK_RETRY_SECONDS", "30", _seconds, "Wait between attempts to take a held cluster lock."),
        S("REBOOTER_LOCK_TIMEOUT_SECONDS", "3600", _seconds, "Give up waiting for the cluster lock after this long."),
        S("REBOOTER_LOCK_TTL_SECONDS", "7200", _seconds, "A lock not renewed for this long is free again.", "lock-ttl"),
        S("REBOOTER_DRAIN_TIMEOUT_SECONDS", "1800", _seconds, "Give up draining a node after this long.", "drain-timeout",
          **_cycle(larger())),
        S("REBOOTER_DRAIN_RETRY_SECONDS", "5", _seconds,
          "Back-off while a PodDisruptionBudget refuses an eviction (429) or pods terminate.", "",
          **_cycle(larger())),
        S("REBOOTER_DRAIN_GRACE_PERIOD_SECONDS", "-1", _int(-1, WEEK), "Pod termination grace period; -1 = the pod's own.",
          "drain-grace-period", **_cycle(GRACE)),
        S("REBOOTER_DELETE_EMPTYDIR_DATA", "true", _bool, "Evict pods using emptyDir (their data is lost).", "",
          **_cycle(keep(False))),
        S("REBOOTER_FORCE", "false", _bool, "Delete pods that have no controller (they are not recreated).", "",
          **_cycle(keep(False))),
        S("REBOOTER_HEALTH_POLL_SECONDS", "10", _seconds, "Interval between health checks after a reboot."),
        S("REBOOTER_WATCH_SECONDS", "50", _int(0, 230),
          "How long one drain or health activity may watch the Kubernetes API for its event (pods gone; Ready "
          "with a new boot ID, then the verification pod), and the probe fetch may wait on ARM for the "
          "run-command result, before it returns and the orchestrator calls again; 0 = no watch, poll on the "
          "durable timers only."),
        S("REBOOTER_HEALTH_TIMEOUT_SECONDS", "900", _seconds, "A node not healthy after this long fails the cycle."),
        S("REBOOTER_REBOOT_LOOP_COOLDOWN_SECONDS", "86400", _seconds,
          "A node that asked for a reboot again right after its reboot (the sentinel came back at boot) is put back "
          "in service and left alone this long after that reboot, so it is not rebooted at every cycle (kured's "
          "reboot loop, kured#976); 0 reboots it again at the next cycle."),
        S("REBOOTER_ACTIVITY_RETRY_SECONDS", "2", _seconds,
          "First back-off when an activity fails on a transient ARM or Kubernetes error (3 attempts)."),
        S("REBOOTER_APPROVAL", "none", _choice("none", "first", "each"),
          "Manual approval gate: `none`, before the `first` node, or before `each` node (POST .../approve).", "",
          **_cycle(order("none", "first", "each"))),
        S("REBOOTER_APPROVAL_TIMEOUT_SECONDS", "3600", _seconds, "How long to wait for an approval.", "",
          **_cycle(larger())),
        S("REBOOTER_APPROVAL_DEFAULT", "reject", _choice("reject", "approve"),
          "What happens when nobody answers in time.", "",
          **_cycle(order("approve", "reject"))),
        S("REBOOTER_ESTIMATED_NODE_SECONDS", "600", _seconds,
          "Dry-run estimate per node when no earlier cycle has measured one on this cluster."),
        S("REBOOTER_NODES_PER_EXECUTION", "20", _int(1, 1000),
          "Nodes patched per orchestration execution before continue-as-new (keeps replay cost linear). An "
          "execution carries only counts and its own batch of nodes; the earlier results, the waves not started and "
          "the plan's skipped and up-to-date lists wait in the cluster's progress entity (`runs`) and come back once "
          "for the summary."),
        S("REBOOTER_SOAK_SECONDS", "0", _seconds, "Wait after a node is back before the next one.", "lock-release-delay",
          **_cycle(larger())),
        S("REBOOTER_DRAIN_DELAY_SECONDS", "0", _seconds, "Wait between cordon and drain.", "drain-delay",
          **_cycle(larger())),
        S("REBOOTER_REBOOT_DELAY_SECONDS", "0", _seconds, "Wait between drain and reboot.", "reboot-delay",
          **_cycle(larger())),
        S("REBOOTER_MAX_UNAVAILABLE_PER_POOL", "0", _int(0, 100),
          "Nodes out of service at once per pool (0 = only the cluster-wide budget).", "",
          **_cycle(smaller(zero_is_unlimited, " (0 = no per-pool limit counts as the largest)"))),
        S("REBOOTER_ZONE_AWARE", "false", _bool,
          "Patch one availability zone at a time (a wave never spans zones).", "",
          **_cycle(keep(True))),
        S("REBOOTER_PAUSED", "false", _bool,
          "Pause switch: no new cycle starts (per cluster with REBOOTER_CLUSTER_OVERRIDES)."),
        S("REBOOTER_OPT_OUT_LABEL", contract.DEFAULT_OPT_OUT_LABEL, _text,
          "Nodes (or pools, through their node labels) with this label set to `true` are never touched."),
        S("REBOOTER_PAUSE_LABEL", contract.DEFAULT_PAUSE_LABEL, _text,
          "Nodes (or pools) with this label set to `true` are skipped until it is removed."),
        S("REBOOTER_CLUSTER_OVERRIDES", "{}", _cluster_overrides,
          "Per-cluster settings: JSON object from cluster name (or sub.rg.name key) to {setting key: value}; "
          "only settings of scope cluster or cycle.", scope=APP),
        S("REBOOTER_DRAIN_POD_SELECTOR", "", _selector, "Only evict pods matching this label selector (the others "
          "stay on the node through its reboot).", "drain-pod-selector", **_cycle(SAME)),
        S("REBOOTER_SKIP_WAIT_FOR_DELETE_TIMEOUT_SECONDS", "0", _int(0, WEEK),
          "Pods deleted longer ago than this are not waited for (0 = wait for all).", "skip-wait-for-delete-timeout",
          **_cycle(larger(zero_is_unlimited, " (0 = wait for all counts as the largest)"))),
        S("REBOOTER_DISABLE_EVICTION", "false", _bool,
          "Delete pods instead of evicting them: bypasses PodDisruptionBudgets. Dangerous.", "",
          **_cycle(keep(False))),
        S("REBOOTER_UNDRAINABLE_POLICY", "skip", _choice("skip", "quarantine", "force"),
          "A node whose drain cannot finish: `skip` (undo our cordon, continue), `quarantine` (stay cordoned with "
          "the quarantine label, continue; halt after REBOOTER_MAX_BLOCKED_NODES), `force` (delete the remaining "
          "pods and reboot).", "force-reboot", **_cycle(order("force", "quarantine", "skip"))),
        S("REBOOTER_MAX_BLOCKED_NODES", "1", _int(1, 1000), "Quarantined nodes after which the cycle halts.", "",
          **_cycle(smaller())),
        S("REBOOTER_MAX_FAILED_NODES", "1", _int(1, 1000),
          "Nodes that did not come back healthy after which the cycle halts (their lock is kept).", "",
          **_cycle(smaller())),
        S("REBOOTER_BLOCKER_RETRY_SECONDS", "60", _seconds, "Wait between blocker checks while blocked.", "",
          **_cycle(larger())),
        S("REBOOTER_BLOCKER_TIMEOUT_SECONDS", "3600", _seconds,
          "Give up (cycle blocked, nothing touched) when blockers stay active this long.", "",
          **_cycle(larger())),
        S("REBOOTER_PRE_REBOOT_NODE_LABELS", "", _labels, "Labels set before the reboot (k=v,k2=v2).",
          "pre-reboot-node-labels"),
        S("REBOOTER_POST_REBOOT_NODE_LABELS", "", _labels, "Labels set once the node is healthy again.",
          "post-reboot-node-labels"),
        S("REBOOTER_ANNOTATE_NODES", "true", _bool,
          "Annotate nodes with the reboot state, last reboot time and last result.", "annotate-nodes"),
        S("REBOOTER_PREFER_NO_SCHEDULE_TAINT", "true", _bool,
          "While a reboot is pending (from planning until the node is healthy again, or the cycle ends without "
          f"patching it), the node carries the PreferNoSchedule taint `{contract.PENDING_TAINT_KEY}`, so new pods "
          "prefer other nodes.", "prefer-no-schedule-taint"),
        S("REBOOTER_WINDOW_SOURCE", "settings", _choice("settings", "aks", "cron"),
          "Maintenance window: `settings` (the REBOOTER_WINDOW_* day/time settings), `aks` (the cluster's planned "
          "maintenance `aksManagedNodeOSUpgradeSchedule`, daily or weekly schedules; no such configuration = no reboots) "
          "or `cron` (REBOOTER_WINDOW_SCHEDULE + REBOOTER_WINDOW_DURATION_SECONDS)."),
        S("REBOOTER_WINDOW_SCHEDULE", "", _text,
          "With window source `cron`: a 6-field NCRONTAB (UTC) at which the window opens, e.g. `0 0 2 * * sat`."),
        S("REBOOTER_WINDOW_DURATION_SECONDS", "0", _seconds, "With window source `cron`: how long it stays open."),
        S("REBOOTER_WINDOW_WAIT", "true", _bool,
          "When the window closes mid-cycle: `true` waits (durable timer) and resumes at the next opening; `false` "
          "stops and leaves the rest to the next timer run. The node in progress always finishes."),
        S("REBOOTER_WINDOW_DAYS", "every day", _window_days,
          "Days a window opens: `every day` or a comma list of mon,tue,wed,thu,fri,sat,sun.", "reboot-days"),
        S("REBOOTER_WINDOW_START", "00:00", _hhmm, "Window start, HH:MM in the window's time zone.", "start-time"),
        S("REBOOTER_WINDOW_END", "00:00", _hhmm,
          "Window end, HH:MM; before the start it wraps past midnight (22:00-04:00 runs into the next morning); "
          "equal to the start means 24 hours, so the default 00:00-00:00 is all day.", "end-time"),
        S("REBOOTER_WINDOW_TIME_ZONE", "UTC", _time_zone,
          "IANA time zone of the window (Europe/Berlin), or UTC; DST is followed.", "time-zone"),
        S("REBOOTER_WINDOW_EXCLUDE_DATES", "", _dates,
          "Dates with no reboots, YYYY-MM-DD comma list in the window's time zone (a window open the evening "
          "before closes at midnight)."),
        S("REBOOTER_PROMETHEUS_URL", "", alerts.parse_url_setting,
          "Prometheus-compatible query endpoint; reboots wait while `ALERTS` are active and when the query fails "
          "(empty: no alert check).", "prometheus-url"),
        S("REBOOTER_PROMETHEUS_AUTH", "none", _choice("none", "entra"),
          "`entra`: send an Entra ID token for https://prometheus.monitor.azure.com (Azure Monitor managed "
          "Prometheus; needs https and the Monitoring Data Reader role); `none`: no credentials."),
        S("REBOOTER_ALERT_FILTER_REGEXP", "", alerts.parse_regexp_setting,
          "Alert names matching this regular expression are ignored (or, with match-only, the only ones that block).",
          "alert-filter-regexp"),
        S("REBOOTER_ALERT_FILTER_MATCH_ONLY", "false", _bool,
          "Only alerts whose name matches REBOOTER_ALERT_FILTER_REGEXP block.", "alert-filter-match-only"),
        S("REBOOTER_ALERT_FIRING_ONLY", "false", _bool, "Only firing alerts block (pending ones do not).",
          "alert-firing-only"),
        S("REBOOTER_BLOCKING_POD_SELECTORS", "", labelselector.parse_list,
          "Label selectors separated by `;`: reboots wait while a matching pod runs on the node (before the lock: "
          "anywhere in the cluster).", "blocking-pod-selector"),
        S("REBOOTER_NOTIFY_URLS", "", notify_settings.parse_urls_setting,
          "Apprise notification URLs, space or comma separated (slack://..., workflows://... or the Teams workflow's "
          "https URL, mailto://..., json://host/path); each is checked by Apprise at start; empty = no notifications. "
          "Secrets are masked wherever a URL is shown.", "notify-url"),
        S("REBOOTER_NOTIFY_EVENTS", "all", notify_settings.parse_events_setting,
          f"Events to notify: `all` or a comma list of {', '.join(notify_events.EVENTS)}."),
        *[S(notify_events.template_setting(e.name), e.body, notify_settings.parse_template,
            f"Message (markdown) when {e.meaning} (event `{e.name}`); placeholders: "
            f"{', '.join('$' + p for p in notify_events.PLACEHOLDERS)} (others stop the start); the event id is appended.",
            e.kured)
          for e in notify_events.EVENTS.values()],
    ]
}


def by_key(*, per_cycle: bool = False) -> dict[str, Setting]:
    """The settings by their JSON key (``maxUnavailable``), or only the per-cycle ones."""
    return {s.key: s for s in SETTINGS.values() if s.per_cycle or not per_cycle}
