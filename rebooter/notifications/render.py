"""Rendering a notification: an event's payload to a title and a Markdown body.

Templates are ``string.Template`` (the event's default, or REBOOTER_NOTIFY_TEMPLATE_<EVENT>);
every value put into one is neutralized first, so caller text cannot ping a channel or add a link.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from string import Template
from typing import Any

from rebooter.config import names
from rebooter.notifications.events import EVENTS, event_id, template_key
from rebooter.outcomes import CycleOutcome, NodeResult


@dataclass(frozen=True)
class Message:
    event: str
    event_id: str
    title: str
    body: str
    severity: str


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def format_duration(seconds: Any) -> str:
    """4m 07s, 1h 02m, 12s: how long, for a human."""
    try:
        total = float(seconds)
    except (TypeError, ValueError):
        return ""
    if total != total or total < 0:
        return ""
    whole = int(round(total))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


# Caller text (a cycle's reason, who cancelled and why) goes into every message. It must not be
# able to ping a channel or add a link. Apprise's Slack plugin turns `<!channel>`, `!channel>`,
# `&lt;!channel&gt;`, `<@user>`, `<url|text>` and bare `https://` URLs into Slack controls
# (apprise/plugins/slack.py, _re_channel_support/_re_user_id_support/_re_url_support; Slack's own
# rules: docs.slack.dev "Formatting text for app surfaces"), and Markdown makes `[text](url)` a
# link. So every value put into a template has these characters (`@` and `!` included, which
# start mentions) replaced by look-alikes and `://` broken; the template's own text is untouched.
_ZWSP = "\u200b"
_NEUTRAL = str.maketrans({"<": "\u2039", ">": "\u203a", "&": "\uff06", "|": "\u00a6", "[": "\u27e6",
                          "]": "\u27e7", "@": "\uff20", "!": "\u01c3", "\r": " ", "\n": " ", "\t": " "})


def neutralize(text: str) -> str:
    """``text`` safe to place in a Slack/Teams/Markdown message: no mention, no link, one line."""
    text = "".join(ch if ch.isprintable() or ch in "\r\n\t" else " " for ch in text)
    return text.translate(_NEUTRAL).replace("://", ":" + _ZWSP + "//")


def placeholders(payload: Mapping[str, Any]) -> dict[str, str]:
    """The template values of an activity payload (missing fields are empty), neutralized."""
    return {key: neutralize(value) for key, value in _placeholders(payload).items()}


def _placeholders(payload: Mapping[str, Any]) -> dict[str, str]:
    cluster_id = text(payload.get("cluster")).strip()
    try:
        cluster = names.parse_cluster_id(cluster_id).name
    except ValueError:
        cluster = cluster_id
    return {
        "cluster": cluster,
        "cluster_id": cluster_id,
        "node": text(payload.get("node")),
        "pool": text(payload.get("pool")),
        "reason": text(payload.get("reason")),
        "instance_id": text(payload.get("instanceId")),
        "step": text(payload.get("step")),
        "result": text(payload.get("result")),
        "patched": text(payload.get("patched")),
        "failed": text(payload.get("failed")),
        "skipped": text(payload.get("skipped")),
        "total": text(payload.get("total")),
        "duration": format_duration(payload.get("seconds")),
        "boot_id_before": text(payload.get("bootIdBefore")),
        "boot_id_after": text(payload.get("bootIdAfter")),
        "kernel_before": text(payload.get("kernelBefore")),
        "kernel_after": text(payload.get("kernelAfter")),
    }


# What $result means when the orchestrator leaves it out (the event itself says it).
_DEFAULT_RESULT = {"node_healthy": NodeResult.PATCHED, "node_failed": NodeResult.FAILED,
                   "cycle_halted": CycleOutcome.HALTED, "cycle_finished": CycleOutcome.COMPLETED}


def render(payload: Mapping[str, Any], cfg: Mapping[str, Any]) -> Message:
    """Title and markdown body of an event; the event id closes the body. ValueError if unusable."""
    if not isinstance(payload, Mapping):
        raise ValueError(f"expected a JSON object payload, got {type(payload).__name__}")
    name = payload.get("event")
    event = EVENTS.get(name) if isinstance(name, str) else None
    if event is None:
        raise ValueError(f"event: expected one of {', '.join(EVENTS)}, got {name!r}")
    values = placeholders(payload)
    values["result"] = values["result"] or _DEFAULT_RESULT.get(event.name, "")
    the_id = text(payload.get("eventId")) or event_id(values["instance_id"], event.name, values["node"])
    template = cfg.get(template_key(event.name)) or event.body
    body = Template(template).safe_substitute(values).strip()
    title = Template(event.title).safe_substitute(values).strip()
    severity = event.severity
    if event.name == "cycle_finished" and values["failed"] not in ("", "0"):
        severity = "warning"
    return Message(event.name, the_id, title, f"{body}\n\nevent id: {the_id}", severity)
