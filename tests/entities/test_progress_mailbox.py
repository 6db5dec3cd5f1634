"""The progress entity's command mailbox (issue 11 item 7): what the starter writes, what a
continued execution of the same cycle takes, and nothing of an earlier cycle of the same id."""

from __future__ import annotations

from entities import progress

CYCLE = "patch-cycle.sub.rg.aks"


def test_a_continued_execution_takes_its_commands_since_the_cycle_started_and_the_mailbox_empties():
    state, _ = progress.reduce(None, "command", {"id": "old", "instanceId": CYCLE, "action": "cancel",
                                                 "sentAt": "2026-01-05T01:00:00+00:00"})
    state, _ = progress.reduce(state, "command", {"id": "new", "instanceId": CYCLE, "action": "pause",
                                                  "sentAt": "2026-01-05T02:10:00+00:00"})
    state, _ = progress.reduce(state, "command", {"id": "new", "instanceId": CYCLE, "action": "pause",
                                                  "sentAt": "2026-01-05T02:10:00+00:00"})  # sent twice: one entry
    state, _ = progress.reduce(state, "command", {"id": "other", "instanceId": "patch-cycle.sub.rg.b",
                                                  "action": "cancel", "sentAt": "2026-01-05T02:10:00+00:00"})
    state, taken = progress.reduce(state, "take_commands", {"instanceId": CYCLE, "since": "2026-01-05T02:00:00+00:00"})
    assert [c["id"] for c in taken] == ["new"], "the earlier cycle's cancel is not applied to this one"
    assert [c["id"] for c in state["commands"]] == ["other"]
    _, again = progress.reduce(state, "take_commands", {"instanceId": CYCLE, "since": "2026-01-05T02:00:00+00:00"})
    assert again == []


def test_the_mailbox_is_bounded():
    state = None
    for i in range(progress.MAX_COMMANDS + 5):
        state, _ = progress.reduce(state, "command", {"id": str(i), "instanceId": CYCLE, "action": "pause",
                                                      "sentAt": "2026-01-05T02:10:00+00:00"})
    assert len(state["commands"]) == progress.MAX_COMMANDS and state["commands"][-1]["id"] == str(progress.MAX_COMMANDS + 4)
