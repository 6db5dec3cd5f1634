"""Per-cluster settings take effect everywhere, per-cycle overrides only tighten, and the API
hands out no management URL (issue 11 items 2, 3, 4, 12, 14), on the whole local product."""

from __future__ import annotations

import json

import requests

from tests.e2e.test_safety_policies import cordons_by_app, needs, node, run, scenario


def test_per_cluster_opt_out_and_pause_labels_are_the_ones_applied(stack_for):
    """Regression (item 4): with {"<cluster>": {"optOutLabel": "team.io/no-reboot"}} a node
    labelled team.io/no-reboot=true was rebooted, because activities read the app's label."""
    nodes = needs("user/0", "user/1", "user/2")
    nodes[0]["labels"] = {"team.io/no-reboot": "true"}
    nodes[1]["labels"] = {"team.io/hold": "true"}
    overrides = {"aks-labels": {"optOutLabel": "team.io/no-reboot", "pauseLabel": "team.io/hold"}}
    stack = stack_for(scenario("labels", nodes), REBOOTER_CLUSTER_OVERRIDES=json.dumps(overrides))
    status = run(stack)
    opted, held, free = node(stack, "user/0"), node(stack, "user/1"), node(stack, "user/2")
    skipped = {s["node"]: s["reason"] for s in status["output"]["skipped"]}
    assert "opted out" in skipped[opted] and "paused" in skipped[held], skipped
    touched = {n for _, n in cordons_by_app(stack.sandbox.timeline)}
    assert opted not in touched and held not in touched and free in touched
    assert status["output"]["counts"]["patched"] == 1


def test_the_api_refuses_loosening_hands_out_no_management_url_and_checks_everything_first(stack_for, monkeypatch):
    stack = stack_for(scenario("api", needs("user/0")))
    cluster = stack.sandbox.cluster_resource_id
    # Item 2: loosening is a 403 naming the setting on the function-key route; nothing starts.
    loose = stack.api.start({"cluster": cluster, "overrides": {"disableEviction": True, "maxUnavailable": 100}})
    assert loose.status_code == 403 and loose.json()["field"] == "overrides.disableEviction", loose.text
    assert stack.api.get("patch-cycles").json()["count"] == 0
    # Items 14 and 5: invalid values are a 400 before anything starts, on both routes.
    for path in ("patch-cycles", "patch-cycles/unrestricted"):
        bad = stack.api.session_post(path, {"cluster": cluster, "overrides": {"drainPodSelector": "app=web;reboot"}})
        assert bad.status_code == 400 and "drainPodSelector" in bad.json()["detail"], bad.text
        huge = stack.api.session_post(path, {"cluster": cluster, "overrides": {"drainDelaySeconds": 1e12}})
        assert huge.status_code == 400 and "604800" in huge.json()["detail"], huge.text
    deep = stack.api.start("[" * 100_000 + "]" * 100_000)
    assert deep.status_code == 400 and deep.json()["field"] == "body"
    # Items 2 and 3: the admin-level route may loosen; the 202 is the app's own.
    started = stack.api.session_post("patch-cycles/unrestricted",
                                     {"cluster": cluster, "overrides": {"approvalDefault": "approve"}})
    assert started.status_code == 202, started.text
    body = started.json()
    assert set(body) == {"id", "statusUrl"} and started.headers["Location"] == body["statusUrl"]
    assert body["statusUrl"] == f"{stack.base_url}/api/patch-cycles/{body['id']}"
    assert "runtime/webhooks" not in started.text and "code=" not in started.text
    final = stack.api.wait(body["id"], timeout=180)
    assert final["output"]["counts"]["patched"] == 1
    # Item 14: a pools filter selecting nothing probeable ends the cycle with the reason.
    none = stack.api.start({"cluster": cluster, "pools": ["zzz"]})
    assert none.status_code == 202, none.text
    ended = stack.api.wait(none.json()["id"], timeout=120)
    assert ended["status"] == "Completed" and ended["output"]["outcome"] == "skipped"
    assert "no such pool: zzz" in ended["output"]["reason"]
    # Item 12: invalid settings are a named 503 from every route, not a crash.
    monkeypatch.setenv("REBOOTER_UNDRAINABLE_POLICY", "ignore")
    for path in ("patch-cycles", "clusters/aks-api/lock", "clusters/aks-api/progress"):
        answer = requests.get(f"{stack.base_url}/api/{path}", timeout=30)
        assert answer.status_code == 503 and "REBOOTER_UNDRAINABLE_POLICY" in answer.json()["detail"], answer.text
