from rebooter.policy import plan


def cluster(**kw):
    base = {"provisioningState": "Succeeded", "powerState": "Running", "nodeOsUpgradeChannel": "Unmanaged",
            "pools": [{"name": "sys", "osType": "Linux", "count": 2}, {"name": "win", "osType": "Windows", "count": 1},
                      {"name": "user", "osType": "Linux", "count": 3}]}
    return {**base, **kw}


def test_cluster_skipped_while_upgrading_or_on_reimage_channels():
    assert "Upgrading" in plan.cluster_skip_reason(cluster(provisioningState="Upgrading"))
    assert "SecurityPatch" in plan.cluster_skip_reason(cluster(nodeOsUpgradeChannel="SecurityPatch"))
    assert "NodeImage" in plan.cluster_skip_reason(cluster(nodeOsUpgradeChannel="NodeImage"))
    assert plan.cluster_skip_reason(cluster()) is None


def test_channel_none_is_probed_and_every_channel_is_explained():
    # None: no automatic OS updates, but a node patched by hand still needs its reboot.
    assert plan.cluster_skip_reason(cluster(nodeOsUpgradeChannel="None")) is None
    assert "by hand" in plan.channel_facts(cluster(nodeOsUpgradeChannel="None"))["nodeOsUpgradeChannelNote"]
    for channel in ("Unmanaged", "SecurityPatch", "NodeImage", "None"):
        facts = plan.channel_facts(cluster(nodeOsUpgradeChannel=channel))
        assert facts["nodeOsUpgradeChannel"] == channel
        assert facts["nodeOsUpgradeChannelNote"] != "a channel this app does not know"
    # a cluster document without the field (older API versions) behaves as Unmanaged
    assert plan.channel_facts({"pools": []})["nodeOsUpgradeChannel"] == "Unmanaged"


def test_disabled_run_command_skips_the_cluster():
    reason = plan.cluster_skip_reason(cluster(runCommandDisabled=True))
    assert "disableRunCommand" in reason and "--enable-run-command" in reason


def test_windows_pools_not_applicable_and_filter_applies():
    pools, na = plan.split_pools(cluster(), None)
    assert pools == ["sys", "user"]
    assert na == [{"pool": "win", "reason": "Windows pool: the reboot sentinel is Linux only"}]
    assert plan.split_pools(cluster(), ["user"]) == (["user"], [])


def fact(node, required=True, pool="user"):
    return {"node": node, "pool": pool, "rebootRequired": required, "packages": ["linux-image"], "bootId": "b",
            "kernel": "k"}


def inv(name, **kw):
    return {"name": name, "pool": "user", "zone": "", "unschedulable": False, "cordonedByUs": False, "ready": "True",
            "taints": [], **kw}


def test_plan_skips_foreign_cordons_notready_and_autoscaler_nodes_and_resumes_ours_first():
    probes = [{"pool": "user", "nodes": [fact("a"), fact("b"), fact("c"), fact("d"), fact("e"), fact("f", False)],
               "errors": [{"node": "g", "error": "probe pod did not finish"}]}]
    inventory = [inv("a"), inv("b", unschedulable=True), inv("c", ready="Unknown"),
                 inv("d", taints=["ToBeDeletedByClusterAutoscaler"]), inv("e", unschedulable=True, cordonedByUs=True),
                 inv("f"), inv("g")]
    result = plan.plan_nodes(probes, inventory)
    assert [n["node"] for n in result["nodes"]] == ["e", "a"]
    assert result["nodes"][0]["resume"] is True
    reasons = {s["node"]: s["reason"] for s in result["skipped"]}
    assert "someone else" in reasons["b"] and "not Ready" in reasons["c"] and "autoscaler" in reasons["d"]
    assert "probe failed" in reasons["g"]
    assert result["upToDate"] == ["f"]


def test_node_filter():
    probes = [{"pool": "user", "nodes": [fact("a"), fact("b")], "errors": []}]
    result = plan.plan_nodes(probes, [inv("a"), inv("b")], ["b"])
    assert [n["node"] for n in result["nodes"]] == ["b"]


def test_a_node_we_cordoned_and_an_earlier_cycle_rebooted_is_resumed_not_forgotten():
    probes = [{"pool": "user", "nodes": [fact("a", required=False)], "errors": []}]
    result = plan.plan_nodes(probes, [inv("a", unschedulable=True, cordonedByUs=True)])
    [node] = result["nodes"]
    assert node["node"] == "a" and node["resume"] and node["rebooted"]
    assert node["bootId"] == plan.REBOOTED_EARLIER and result["upToDate"] == []


def test_a_node_the_probe_said_nothing_about_is_reported():
    probes = [{"pool": "user", "nodes": [fact("a")], "errors": []}]
    result = plan.plan_nodes(probes, [inv("a"), inv("b")])
    assert {"node": "b", "reason": "the probe returned nothing for this node"} in result["skipped"]


def test_a_node_that_asked_again_right_after_our_reboot_is_left_alone_for_the_cooldown():
    from datetime import UTC, datetime, timedelta

    rebooted = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
    probes = [{"pool": "user", "nodes": [fact("a"), fact("b")], "errors": []}]
    inventory = [inv("a", rebootState="still-required", lastReboot="2026-12-05T03:00:00Z"),
                 inv("b", rebootState="done", lastReboot="2026-12-05T03:00:00Z")]

    soon = plan.plan_nodes(probes, inventory, now=rebooted + timedelta(hours=1), loop_cooldown_seconds=86400)
    assert [n["node"] for n in soon["nodes"]] == ["b"]  # a new request after a clean reboot is a new request
    [skip] = soon["skipped"]
    assert skip["node"] == "a" and "linux-image" in skip["reason"] and "2026-12-06T03:00:00Z" in skip["reason"]
    assert "REBOOTER_REBOOT_LOOP_COOLDOWN_SECONDS" in skip["reason"]

    naive = plan.plan_nodes(probes, inventory, now=datetime(2026, 12, 5, 4, 0), loop_cooldown_seconds=86400)
    assert [n["node"] for n in naive["nodes"]] == ["b"]  # the local engine's clock is naive UTC
    later = plan.plan_nodes(probes, inventory, now=rebooted + timedelta(days=1), loop_cooldown_seconds=86400)
    assert [n["node"] for n in later["nodes"]] == ["a", "b"]
    off = plan.plan_nodes(probes, inventory, now=rebooted + timedelta(hours=1), loop_cooldown_seconds=0)
    assert [n["node"] for n in off["nodes"]] == ["a", "b"]


def test_a_still_asking_node_left_cordoned_by_us_gets_its_cordon_back_without_a_reboot():
    from datetime import UTC, datetime

    probes = [{"pool": "user", "nodes": [fact("a")], "errors": []}]
    inventory = [inv("a", unschedulable=True, cordonedByUs=True, rebootState="still-required",
                     lastReboot="2026-12-05T03:00:00Z")]
    [node] = plan.plan_nodes(probes, inventory, now=datetime(2026, 12, 5, 3, 5, tzinfo=UTC),
                             loop_cooldown_seconds=3600)["nodes"]
    assert node["resume"] and node["rebooted"] and node["bootId"] == plan.REBOOTED_EARLIER


def test_a_node_we_cordoned_is_resumed_even_when_its_pools_probe_failed():
    """A patch_node terminated after its cordon leaves our cordon behind; the next cycle's probe of
    that pool fails (or errs for that node): the node is still resumed, never left cordoned unowned."""
    probes = [{"pool": "user", "nodes": [fact("a")], "errors": [{"node": "c", "error": "probe pod failed"}]}]
    inventory = [inv("a"), inv("b", pool="apps", unschedulable=True, cordonedByUs=True, bootId="b0", kernel="k0"),
                 inv("c", unschedulable=True, cordonedByUs=True), inv("q", unschedulable=True, cordonedByUs=True,
                                                                       quarantined=True)]
    result = plan.plan_nodes(probes, inventory)
    by_name = {n["node"]: n for n in result["nodes"]}
    assert set(by_name) == {"a", "b", "c"}, "a quarantined node stays for the operator"
    assert by_name["b"]["resume"] and by_name["b"]["bootId"] == "b0" and by_name["b"]["pool"] == "apps"
    assert "c" not in {s["node"] for s in result["skipped"]}


def test_a_node_our_interrupted_reboot_already_rebooted_is_never_rebooted_again():
    """Fault seed 40: patch_node terminated at its reboot step; the reboot pod still ran. The next
    cycle's probe ran before that reboot (sentinel seen, old boot) or failed; either way the node
    has a new boot since our request, so it is resumed straight to the health check."""
    rebooted = inv("a", unschedulable=True, cordonedByUs=True, rebootState="rebooting", rebootFromBootId="b1",
                   bootId="b2", kernel="k2")
    before_the_reboot = {**fact("a"), "bootId": "b1"}
    for probes in ([{"pool": "user", "nodes": [before_the_reboot]}],
                   [{"pool": "user", "nodes": [], "errors": [{"node": "a", "error": "probe pod failed"}]}],
                   []):
        [planned] = plan.plan_nodes(probes, [rebooted])["nodes"]
        assert planned["rebooted"] is True and planned["resume"] is True, probes
        assert planned["bootId"] == "b1", "the health check compares with the boot the reboot was requested from"


def test_a_requested_reboot_that_has_not_happened_keeps_its_boot_id_guard():
    """Our reboot was requested from b1 and the node is still on b1 when the probe fails: the resumed
    patch_node asks again from b1, so a reboot that lands meanwhile is not followed by a second one."""
    pending = inv("a", unschedulable=True, cordonedByUs=True, rebootState="rebooting", rebootFromBootId="b1",
                  bootId="b1")
    [planned] = plan.plan_nodes([], [pending])["nodes"]
    assert planned["bootId"] == "b1" and not planned.get("rebooted")
    # A stale "rebooting" mark on a node no longer cordoned by us changes nothing.
    stale = inv("a", rebootState="rebooting", rebootFromBootId="b0", bootId="b1")
    [planned] = plan.plan_nodes([{"pool": "user", "nodes": [{**fact("a"), "bootId": "b1"}]}], [stale])["nodes"]
    assert planned["bootId"] == "b1" and not planned.get("rebooted") and not planned["resume"]


def _fact(name: str, **state: object) -> dict:
    return {"name": name, "pool": "user", "ready": "True", "unschedulable": False, "cordonedByUs": False,
            "quarantined": False, **state}


def test_waves_are_as_wide_as_the_room_the_budget_has_left():
    """A node an operator cordoned, or one NotReady, takes a slot of the budget: a wave as wide as
    maxUnavailable would start a node the lock refuses, which then waits for its sibling's slot
    on the lock retry timer instead of starting when that slot frees."""
    planned = [{"node": "a"}, {"node": "b"}, {"node": "c"}]
    calm = [_fact("a"), _fact("b"), _fact("c"), _fact("d")]
    assert plan.wave_width(2, calm, planned) == 2
    operator = [_fact("a"), _fact("b"), _fact("c"), _fact("d", unschedulable=True)]
    assert plan.wave_width(2, operator, planned) == 1
    down = [_fact("a"), _fact("b"), _fact("c"), _fact("d", ready="False"), _fact("e", quarantined=True)]
    assert plan.wave_width(3, down, planned) == 1
    assert plan.wave_width(1, down, planned) == 1  # never below one: the lock decides, and says why
    # A planned node that is out (our cordon from an interrupted cycle) is one of the wave, not room lost.
    resumed = [_fact("a", unschedulable=True, cordonedByUs=True), _fact("b"), _fact("c"), _fact("d")]
    assert plan.wave_width(2, resumed, planned) == 2
