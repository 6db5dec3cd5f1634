"""Caller text cannot ping a channel or add a link in any notifier (issue 11 item 11).

The reason of a cycle, who cancelled it and why are written by callers. Rendered messages are
checked with the very patterns Apprise's Slack plugin uses to turn text into Slack controls, and
for Markdown links, so the test fails if a control could come out of caller text.
"""

from __future__ import annotations

import re

import pytest
from apprise.plugins.slack import NotifySlack

from rebooter.notifications import events as notify_events
from rebooter.notifications import render as notify_render

CLUSTER = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-demo"
           "/providers/Microsoft.ContainerService/managedClusters/aks-demo")
ATTACKS = ["<!channel> reboot now", "!here>", "&lt;!everyone&gt;", "<@U024BE7LH>", "@U024BE7LH|boss>",
           "see <https://evil.example|the runbook>", "[click](https://evil.example/x)", "https://evil.example",
           "@everyone", "line one\n# heading\n<!channel>"]
SLACK_CONTROLS = [NotifySlack._re_channel_support, NotifySlack._re_user_id_support, NotifySlack._re_url_support]


def slack_controls(body: str) -> list[str]:
    """What Apprise's Slack plugin would turn into controls, after its own escaping."""
    escaped = body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return [m[0] for pattern in SLACK_CONTROLS for m in pattern.findall(escaped)]


@pytest.mark.parametrize("attack", ATTACKS)
@pytest.mark.parametrize("event", ["cycle_started", "cycle_halted", "node_failed"])
def test_caller_text_becomes_no_mention_and_no_link(event, attack):
    payload = {"event": event, "eventId": "i:e", "cluster": CLUSTER, "instanceId": "i", "node": "n1",
               "reason": f"cancelled by {attack}: {attack}", "result": "cancelled", "step": "drain"}
    # An operator template that puts text right after the reason must not close a control either.
    for template in ("", "$reason>|x>"):
        cfg = {notify_events.template_key(event): template} if template else {}
        message = notify_render.render(payload, cfg)
        for text in (message.title, message.body):
            assert slack_controls(text) == [], text
            assert not re.search(r"\]\(", text) and "://" not in text and "\n#" not in text
            assert "<!" not in text and "@everyone" not in text


def test_ordinary_text_is_kept_readable():
    payload = {"event": "cycle_started", "eventId": "i:e", "cluster": CLUSTER, "reason": "CVE-2026-1234 (kernel)",
               "total": 2}
    assert "(CVE-2026-1234 (kernel)): 2 node(s)" in notify_render.render(payload, {}).body
