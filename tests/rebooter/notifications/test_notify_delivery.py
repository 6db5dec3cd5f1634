"""Notifications reach a webhook receiver on 127.0.0.1 through Apprise, in order, with the text
each event should carry; an unreachable or failing receiver is reported, never raised."""

from __future__ import annotations

import time

from rebooter.notifications import events as notify_events
from tests.rebooter.notifications.conftest import notify
from tests.rebooter.notifications.receiver import Receiver, closed_port

CLUSTER = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-demo"
           "/providers/Microsoft.ContainerService/managedClusters/aks-demo")
CYCLE = "rebooter-00000000-0000-0000-0000-000000000000.rg-demo.aks-demo"
NODE = "aks-nodepool1-12345678-vmss000001"


def node_summary(result: str, **extra) -> dict:
    """What patch_node returns (the shape notify.node_result_payload reads)."""
    return {
        "node": NODE, "pool": "nodepool1", "result": result, "reason": extra.pop("reason", ""),
        "steps": [{"step": "lock"}, {"step": "cordon"}, {"step": "drain"}, {"step": "reboot"},
                  {"step": extra.pop("last_step", "uncordon")}],
        "seconds": 247.4, "before": {"bootId": "boot-1", "kernel": "5.15.0-1071-azure"}, **extra,
    }


def cycle_payloads() -> list[dict]:
    counts = {"total": 2, "patched": 1, "failed": 1, "skipped": 0, "upToDate": 3}
    return [
        notify_events.cycle_payload("cycle_started", cluster=CLUSTER, instance_id=CYCLE, reason="CVE-2026-1234",
                                    counts={"total": 2}),
        notify_events.node_payload("node_draining", cluster=CLUSTER, instance_id=CYCLE, node=NODE, pool="nodepool1",
                                   step="drain"),
        notify_events.node_result_payload(
            node_summary("patched", after={"bootId": "boot-2", "kernel": "5.15.0-1073-azure"}),
            cluster=CLUSTER, instance_id=CYCLE),
        notify_events.node_result_payload(
            node_summary("failed", reason="not healthy after 900s: NotReady", last_step="wait healthy"),
            cluster=CLUSTER, instance_id=CYCLE),
        notify_events.cycle_payload("cycle_halted", cluster=CLUSTER, instance_id=CYCLE, result="halted",
                                    reason=f"node {NODE} failed", counts=counts),
        notify_events.cycle_payload("cycle_finished", cluster=CLUSTER, instance_id=CYCLE, result="completed",
                                    counts={"total": 2, "patched": 2, "failed": 0, "skipped": 1}, seconds=3725),
    ]


EXPECTED = [
    ("info", "rebooter: patch cycle started on aks-demo",
     "Patch cycle started on cluster aks-demo (CVE-2026-1234): 2 node(s) to reboot.",
     f"{CYCLE}:cycle_started"),
    ("info", f"rebooter: draining {NODE} (aks-demo)",
     f"Draining node {NODE} (pool nodepool1) of cluster aks-demo before its reboot.",
     f"{CYCLE}:node_draining:{NODE}"),
    ("success", f"rebooter: {NODE} rebooted (aks-demo)",
     f"Node {NODE} (pool nodepool1) of cluster aks-demo rebooted and is healthy again after 4m 07s: "
     "kernel 5.15.0-1071-azure -> 5.15.0-1073-azure, boot ID boot-1 -> boot-2.",
     f"{CYCLE}:node_healthy:{NODE}"),
    ("failure", f"rebooter: {NODE} needs attention (aks-demo)",
     f"Node {NODE} (pool nodepool1) of cluster aks-demo: failed at step wait healthy. "
     "not healthy after 900s: NotReady",
     f"{CYCLE}:node_failed:{NODE}"),
    ("warning", "rebooter: patch cycle halted on aks-demo",
     f"Patch cycle on cluster aks-demo halted: node {NODE} failed. Patched 1 of 2 node(s), 1 failed, 0 skipped.",
     f"{CYCLE}:cycle_halted"),
    ("success", "rebooter: patch cycle finished on aks-demo",
     "Patch cycle on cluster aks-demo finished after 1h 02m: 2 of 2 node(s) patched, 0 failed, 1 skipped.",
     f"{CYCLE}:cycle_finished"),
]


def test_every_event_reaches_a_json_webhook_in_order_with_its_text(receiver, app_env):
    app_env(REBOOTER_NOTIFY_URLS=receiver.url("json", "/hook"))
    results = [notify(p) for p in cycle_payloads()]
    assert [r["sent"] for r in results] == [1] * 6
    assert all(r["failed"] == [] for r in results)
    got = receiver.json_bodies("/hook")
    assert [b["event"] for b in got] == list(notify_events.EVENTS)
    for body, (severity, title, text, event_id) in zip(got, EXPECTED, strict=True):
        assert body["type"] == severity
        assert body["title"] == title
        assert body["message"] == f"{text}\n\nevent id: {event_id}"
        assert body["eventId"] == event_id


def test_the_same_event_sent_twice_carries_the_same_event_id(receiver, app_env):
    app_env(REBOOTER_NOTIFY_URLS=receiver.url())
    payload = cycle_payloads()[1]
    notify(payload)
    notify(payload)  # the activity re-run after a host restart
    ids = [b["eventId"] for b in receiver.json_bodies()]
    assert ids == [f"{CYCLE}:node_draining:{NODE}"] * 2


def test_form_and_xml_webhooks_get_the_event_id_as_a_field(receiver, app_env):
    app_env(REBOOTER_NOTIFY_URLS=f"{receiver.url('form', '/form')}, {receiver.url('xml', '/xml')}")
    result = notify(cycle_payloads()[0])
    assert result["sent"] == 2 and result["failed"] == []
    [form] = receiver.form_bodies("/form")
    assert form["eventId"] == f"{CYCLE}:cycle_started"
    assert form["title"] == "rebooter: patch cycle started on aks-demo"
    assert form["message"].endswith(f"event id: {CYCLE}:cycle_started")
    [xml] = receiver.bodies("/xml")
    assert f"<eventId>{CYCLE}:cycle_started</eventId>" in xml
    assert "2 node(s) to reboot." in xml


def test_urls_are_sent_to_in_the_configured_order(receiver, app_env):
    app_env(REBOOTER_NOTIFY_URLS=" ".join(receiver.url("json", f"/n{i}") for i in range(3)))
    notify(cycle_payloads()[0])
    assert [r["path"] for r in receiver.requests] == ["/n0", "/n1", "/n2"]


def test_a_receiver_answering_500_is_reported_as_failed_not_raised(app_env):
    with Receiver(status=500) as broken:
        app_env(REBOOTER_NOTIFY_URLS=broken.url())
        result = notify(cycle_payloads()[3])
        assert len(broken.requests) == 1
    assert result["sent"] == 0
    assert [f["url"] for f in result["failed"]] == [broken.url()]
    assert "500" in result["failed"][0]["error"]


def test_a_receiver_that_is_down_is_reported_as_failed_not_raised(app_env):
    url = f"json://127.0.0.1:{closed_port()}/hook"
    app_env(REBOOTER_NOTIFY_URLS=url)
    started = time.monotonic()
    result = notify(cycle_payloads()[0])
    assert time.monotonic() - started < 5
    assert result["sent"] == 0
    assert result["failed"][0]["url"] == url
    assert result["failed"][0]["error"]


def test_one_failing_url_does_not_stop_the_others(receiver, app_env):
    down = f"json://127.0.0.1:{closed_port()}/down"
    app_env(REBOOTER_NOTIFY_URLS=f"{down},{receiver.url()}")
    result = notify(cycle_payloads()[5])
    assert result["sent"] == 1
    assert [f["url"] for f in result["failed"]] == [down]
    assert len(receiver.json_bodies()) == 1


def test_only_the_chosen_events_are_sent(receiver, app_env):
    app_env(REBOOTER_NOTIFY_URLS=receiver.url(), REBOOTER_NOTIFY_EVENTS="node_failed, cycle_halted")
    results = [notify(p) for p in cycle_payloads()]
    assert [b["event"] for b in receiver.json_bodies()] == ["node_failed", "cycle_halted"]
    assert results[0]["sent"] == 0 and "REBOOTER_NOTIFY_EVENTS" in results[0]["skipped"]


def test_a_template_setting_overrides_the_default_text(receiver, app_env):
    app_env(REBOOTER_NOTIFY_URLS=receiver.url(),
            REBOOTER_NOTIFY_TEMPLATE_NODE_DRAINING="*$node* of $cluster goes down for $$reasons: $reason")
    notify(notify_events.node_payload("node_draining", cluster=CLUSTER, instance_id=CYCLE, node=NODE,
                                      reason="kernel 5.15.0-1073"))
    [body] = receiver.json_bodies()
    assert body["message"] == (f"*{NODE}* of aks-demo goes down for $reasons: kernel 5.15.0-1073"
                               f"\n\nevent id: {CYCLE}:node_draining:{NODE}")


def test_notifications_are_off_without_urls(app_env):
    app_env()
    result = notify(cycle_payloads()[0])
    assert result["sent"] == 0 and result["failed"] == [] and "off" in result["skipped"]


def test_a_bad_payload_is_reported_not_raised(receiver, app_env):
    app_env(REBOOTER_NOTIFY_URLS=receiver.url())
    for payload in ({"event": "node_exploded", "eventId": "x"}, ["not", "an", "object"], None):
        result = notify(payload)
        assert result["sent"] == 0 and result["failed"], payload
    assert receiver.requests == []


def test_a_missing_event_id_is_derived_from_instance_event_and_node(receiver, app_env):
    app_env(REBOOTER_NOTIFY_URLS=receiver.url())
    payload = cycle_payloads()[1]
    del payload["eventId"]
    assert notify(payload)["eventId"] == f"{CYCLE}:node_draining:{NODE}"
    assert receiver.json_bodies()[0]["eventId"] == f"{CYCLE}:node_draining:{NODE}"


def test_a_result_left_out_is_the_one_the_event_implies(receiver, app_env):
    app_env(REBOOTER_NOTIFY_URLS=receiver.url())
    notify({"event": "cycle_halted", "eventId": "c:cycle_halted", "cluster": CLUSTER, "reason": "node n1 failed",
            "total": 2, "patched": 1, "failed": 1, "skipped": 0})
    [body] = receiver.json_bodies()
    assert body["title"] == "rebooter: patch cycle halted on aks-demo"
    assert body["message"].startswith("Patch cycle on cluster aks-demo halted: node n1 failed. Patched 1 of 2")
