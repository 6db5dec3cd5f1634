"""What a cycle says about the cluster's node OS upgrade channel and run-command, over the API.

NodeImage (the default for new clusters) and SecurityPatch are skipped with the reason; None is
probed like Unmanaged (a node patched by hand still needs its reboot); a cluster with run-command
disabled is skipped before anything is asked of it. Dry runs and skipped cycles show the channel.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _scenario(**cluster) -> dict:
    data = yaml.safe_load((ROOT / "lab/scenarios/minimal.yaml").read_text())
    data["cluster"].update(cluster)
    return data


def _dry_run(stack) -> dict:
    response = stack.api.start({"cluster": stack.sandbox.cluster_resource_id, "dryRun": True})
    assert response.status_code == 202, response.text
    status = stack.api.wait(response.json()["id"])
    assert status["status"] == "Completed", status
    return status["output"]


@pytest.mark.parametrize("channel", ["NodeImage", "SecurityPatch"])
def test_reimage_channels_are_skipped_with_the_channel_shown(stack_for, channel: str) -> None:
    stack = stack_for(_scenario(nodeOsUpgradeChannel=channel))
    output = _dry_run(stack)
    assert output["outcome"] == "skipped" and channel in output["reason"]
    assert output["nodeOsUpgradeChannel"] == channel and "nothing to do" in output["nodeOsUpgradeChannelNote"]
    assert not stack.sandbox.timeline.events("run_command")  # nothing was asked of the cluster


def test_channel_none_is_probed_and_planned(stack_for) -> None:
    stack = stack_for(_scenario(nodeOsUpgradeChannel="None"))
    output = _dry_run(stack)
    assert output["outcome"] == "dry-run" and output["nodeOsUpgradeChannel"] == "None"
    assert "by hand" in output["nodeOsUpgradeChannelNote"]
    needing = {n.name for n in stack.sandbox.scenario.nodes if n.reboot_required}
    assert {n["node"] for n in output["plan"]["nodes"]} == needing


def test_disabled_run_command_is_skipped_with_that_reason(stack_for) -> None:
    stack = stack_for(_scenario(disableRunCommand=True))
    output = _dry_run(stack)
    assert output["outcome"] == "skipped" and "disableRunCommand" in output["reason"]
    assert output["nodeOsUpgradeChannel"] == "Unmanaged"
    assert not stack.sandbox.timeline.events("run_command")
