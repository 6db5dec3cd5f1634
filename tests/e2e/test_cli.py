"""The local CLI reads the same history the API serves."""

from __future__ import annotations

from lab.local.__main__ import main


def test_history_and_show_print_the_run(stack_for, capsys):
    stack = stack_for("lab/scenarios/minimal.yaml")
    instance = stack.api.start({"cluster": stack.sandbox.cluster_resource_id}).json()["id"]
    status = stack.api.wait(instance)
    node = status["output"]["nodes"][0]["node"]

    assert main(["history", "--url", stack.base_url]) == 0
    out = capsys.readouterr().out
    assert instance in out and "completed" in out and "1 run(s)" in out

    assert main(["show", instance, "--url", stack.base_url]) == 0
    out = capsys.readouterr().out
    assert node in out and "patched" in out and "wait healthy" in out
