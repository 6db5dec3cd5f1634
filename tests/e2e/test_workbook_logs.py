"""The workbook's queries against the structured log lines of a real demo cycle.

The lines are captured from the app's own loggers while the sandbox demo runs through the local
engine (the same lines the Functions host sends to Application Insights' traces table)."""

from __future__ import annotations

import copy
import json
import logging

import pytest

from infra.checks import workbook


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if text.startswith("{"):
            try:
                line = json.loads(text)
            except ValueError:
                return
            if isinstance(line, dict) and "event" in line:
                self.lines.append(line)


@pytest.fixture
def demo_lines(stack_for):
    logger = logging.getLogger("rebooter")
    capture, level = Capture(), logger.level
    logger.addHandler(capture)
    logger.setLevel(logging.INFO)
    try:
        stack = stack_for("lab/scenarios/demo.yaml", REBOOTER_MAX_UNAVAILABLE="2")
        instance = stack.api.start({"cluster": stack.sandbox.cluster_resource_id, "reason": "workbook"}).json()["id"]
        assert stack.api.wait(instance)["output"]["outcome"] == "completed"
        # Break the lock once (nobody holds it): the "broken" lock line is part of the story too.
        name = stack.sandbox.scenario.cluster.name
        assert stack.api.session_post(f"clusters/{name}/lock/break", {"reason": "workbook test"}).status_code == 202
    finally:
        logger.removeHandler(capture)
        logger.setLevel(level)
    return stack, capture.lines


def test_every_field_the_workbook_reads_is_in_the_demo_logs(demo_lines):
    stack, lines = demo_lines
    events = {line["event"] for line in lines}
    assert {"probe", "cycle", "node", "step", "lock"} <= events, events
    assert workbook.field_problems(workbook.load(), lines) == []

    # The per-probe signal (kured_reboot_required): one line per probed Linux node, typed.
    probes = [line for line in lines if line["event"] == "probe"]
    linux = {n.name for n in stack.sandbox.scenario.nodes if n.os_type.lower() == "linux"}
    assert sorted(p["node"] for p in probes) == sorted(linux)
    assert all(isinstance(p["rebootRequired"], bool) for p in probes)
    pending = {p["node"] for p in probes if p["rebootRequired"] is True}
    assert pending == {n.name for n in stack.sandbox.scenario.nodes if n.reboot_required}
    actions = [line["action"] for line in lines if line["event"] == "lock"]
    assert actions.count("acquired") == actions.count("released") == 2 and "broken" in actions


def test_a_query_naming_a_missing_field_fails(demo_lines):
    _, lines = demo_lines
    doc = copy.deepcopy(workbook.load())
    query = doc["items"][2]["content"]["items"][0]["content"]
    query["query"] = query["query"].replace("tobool(d.rebootRequired)", "tobool(d.rebootPending)")
    problems = workbook.field_problems(doc, lines)
    assert len(problems) == 1 and "no field 'rebootPending'" in problems[0], problems
    retyped = copy.deepcopy(workbook.load())
    item = retyped["items"][3]["content"]["items"][0]["content"]
    item["query"] = item["query"].replace("toint(d.patched)", "tobool(d.patched)")
    assert any("cycle.patched is read with tobool" in p for p in workbook.field_problems(retyped, lines))
