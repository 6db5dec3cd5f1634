"""patch_cycle: one patch cycle of one AKS cluster, as an operator's runbook.

1. describe the cluster (skip it, with the reason, while AKS is busy or cannot need reboots;
   steps 1 to 3 are in cycle_prepare.py);
2. ask every Linux pool, in parallel, which nodes need a reboot (run-command; each result fetch
   waits on ARM up to REBOOTER_WATCH_SECONDS, durable timers beyond);
3. list the nodes and plan (pure: rebooter.plan);
4. patch the planned nodes in waves as wide as the room left in the budget, each in a patch_node
   sub-orchestration; stop when one fails (failure policy: halt, keep the lock);
5. return a summary per node.

Deterministic: the input carries the settings; time comes from the context; all I/O is in
activities. The input is {"cluster", "settings", "pools"?, "nodes"?, "reason", "trigger"}.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from orchestrators import durable, progress
from orchestrators.context import OrchestrationContext
from orchestrators.control import Control
from orchestrators.cycle_prepare import fail, prepare
from orchestrators.cycle_status import CycleStatus
from rebooter.notifications import events as notify_events
from rebooter.outcomes import CycleOutcome, NodeResult
from rebooter.policy import plan, window_settings, windows


def patch_cycle(context: Any):  # the runtime binds it: see orchestrators.context for the type
    """Every way out of the cycle ends with a summary, a reason and a notification: a step that
    raises ends it "failed" naming the step, never as an orchestration failure with a stack trace."""
    job: dict[str, Any] = context.get_input()
    status = CycleStatus(context, job["cluster"], job.get("reason", ""))
    control = Control(context)
    try:
        yield from control.arm()
        summary = yield from _run(context, job, status, control)
    except Exception as exc:  # noqa: BLE001 - the reason instead of a stack trace
        summary = yield from fail(context, job["settings"], status,
                                  f"{status.current_step or 'the cycle'} failed: {durable.error_text(exc)}")
    if summary is not None:  # None: continued as new
        summary["commands"] = control.log
    return summary


def _run(context: OrchestrationContext, job: dict[str, Any], status: CycleStatus, control: Control):
    cluster_id = job["cluster"]
    cfg = job["settings"]
    invalid = durable.invalid_settings(cfg)
    if invalid:  # an input nobody validated (started around the API): touch nothing, say why
        return status.finish(CycleOutcome.FAILED, reason=invalid)
    state = job.get("resume")
    if state is None:  # first execution: look, plan, announce
        state = yield from prepare(context, job, status, control)
        if "outcome" in state:
            return state
    else:  # a continued execution: pick up where the previous one stopped
        status.restore(state)
        control.restore(state["control"])
        yield from control.read_mailbox(durable.progress_id(cluster_id), state["startedAt"])
    started = datetime.fromisoformat(state["startedAt"])
    status.started = started
    window = window_settings.window_from_dict(state["window"])

    width = _wave_width(cfg, state)
    halted, remaining = yield from _patch_nodes(context, cfg, cluster_id, state["queue"], status, control, window, width)
    ledger = state.get("ledger")  # set once the first execution handed the rest of the plan over
    more = bool(remaining) or bool(ledger and ledger["more"])
    if more and not halted and not control.cancel:
        yield from control.drain()  # continue-as-new drops events not read yet
    if more and not halted and not control.cancel:
        # Keep the history short: a new execution for the next batch, so replay cost stays
        # linear in the cluster's size (Durable's continue-as-new). What it carries is bounded:
        # the results so far and the waves not started wait in the progress entity's ledger.
        batch = yield from _hand_over(context, cfg, job, state, remaining, status)
        if batch is not None:
            context.continue_as_new({**job, "resume": {
                "startedAt": state["startedAt"], "window": state["window"], "control": control.snapshot(),
                "waveWidth": width,
                "queue": [n for wave in batch["waves"] for n in wave], **status.snapshot(),
                "ledger": {"next": batch["next"], "more": batch["more"],
                           "execution": (ledger or {}).get("execution", 1) + 1}}})
            return None
        halted = "the rest of the plan is gone from the progress entity's ledger; run the cycle again"

    why = "the cycle was cancelled" if control.cancel else f"the cycle halted ({halted})"
    _not_started(status, [n["node"] for n in remaining], why)
    tainted = state.get("tainted", [])
    if ledger:  # a continued execution: the earlier ones' lists, back from the ledger once
        back = yield context.call_entity(durable.progress_id(cluster_id), "run_end", {
            "instanceId": context.instance_id, "startedAt": state["startedAt"], "from": ledger["next"]})
        if back.get("missing"):
            halted = halted or "the results of the earlier executions are gone from the progress entity's " \
                               "ledger: the summary lists only this execution's nodes"
        else:
            status.take_back(back)
            tainted = back["tainted"]
            _not_started(status, back["left"], why)
    if control.cancel:
        outcome, reason = CycleOutcome.CANCELLED, f"cancelled by {control.cancel.get('by') or 'an operator'}: " \
                                       f"{control.cancel.get('reason') or 'no reason given'}"
    else:
        outcome, reason = (CycleOutcome.HALTED, halted) if halted else (CycleOutcome.COMPLETED, "")
    # Every node tainted at planning loses the taint now (a patched node already did at its
    # uncordon; the call is idempotent): cancelled, halted, skipped or left to the next run.
    yield from durable.pending_taint(context, cfg, cluster_id, tainted, False)
    summary = status.finish(outcome, reason=reason)
    progress.record_cycle(context, cluster_id, started, outcome, summary=status.counts(),
                        nodes=[{k: n[k] for k in ("node", "result", "reason", "seconds")} for n in status.results])
    if status.total or halted:
        yield from durable.notify(context, cfg, notify_events.cycle_payload(
            "cycle_finished" if outcome == CycleOutcome.COMPLETED else "cycle_halted", cluster=cluster_id,
            instance_id=context.instance_id, reason=reason, result=outcome, counts=status.counts(),
            seconds=durable.seconds_between(started, context.current_utc_datetime)))
    return summary


def _hand_over(context: OrchestrationContext, cfg: dict[str, Any], job: dict[str, Any], state: dict[str, Any],
               remaining: list[dict[str, Any]], status: CycleStatus):
    """Give the progress entity's ledger this execution's results (and, from the first
    execution, the rest of the plan: waves, skipped, up to date, tainted); take the next batch
    of waves. One entity call per execution, answered before the next execution exists."""
    ledger = state.get("ledger")
    handed: dict[str, Any] = {"instanceId": context.instance_id, "startedAt": state["startedAt"],
                              "execution": (ledger or {}).get("execution", 1), "take": cfg["nodesPerExecution"],
                              **status.hand_over()}
    if ledger:
        handed["from"] = ledger["next"]
    else:
        handed["plan"] = {"waves": plan.waves(remaining, _wave_width(cfg, state), cfg["zoneAware"]),
                          "skipped": status.skipped, "upToDate": status.up_to_date,
                          "tainted": state.get("tainted", [])}
    batch = yield context.call_entity(durable.progress_id(job["cluster"]), "run_save", handed)
    return None if batch.get("missing") else batch


def _wave_width(cfg: dict[str, Any], state: dict[str, Any]) -> int:
    """Nodes started together: maxUnavailable less the nodes already out for other reasons when
    the cycle planned (plan.wave_width); the whole budget for an input from before that was kept."""
    return int(state.get("waveWidth") or max(1, int(cfg["maxUnavailable"])))


def _not_started(status: CycleStatus, nodes: list[str], why: str) -> None:
    status.skipped += [{"node": node, "reason": f"not started: {why}"} for node in nodes]


def _patch_nodes(context: OrchestrationContext, cfg: dict[str, Any], cluster_id: str, nodes: list[dict[str, Any]],
                 status: CycleStatus, control: Control, window: Any, width: int):
    """Patch nodes in waves of up to ``width`` (the room in the budget at planning), at most
    ``nodesPerExecution`` in this execution; return (why the rollout halted or None, the nodes
    left for the next execution)."""
    queue = plan.waves(nodes, width, cfg["zoneAware"])
    node_cfg = durable.node_settings(cfg)
    halted = None
    approval = cfg.get("approval", "none")
    first = not status.tally["done"]
    done_here = 0
    carried: dict[str, Any] | None = None  # the next node's preflight, answered by the node before it
    while queue and not halted:
        yield from control.catch_up()  # commands that arrived during the last wave, before anything starts
        if done_here >= cfg["nodesPerExecution"]:
            return None, [n for wave in queue for n in wave]
        if control.paused:
            carried = None
            status.step("paused", current=[])
        yield from control.hold_while_paused()
        if control.cancel:
            break
        now = context.current_utc_datetime
        if not windows.is_open(window, now):
            if not cfg["windowWait"]:
                halted = f"the maintenance window closed ({window.describe()}); the rest is left for the next run"
                break
            opens = windows.next_open(window, now)
            status.step(f"waiting for the maintenance window (opens {opens.isoformat()})", current=[])
            yield from control.wait((opens - now).total_seconds())
            carried = None
            continue
        if approval == "each" or (approval == "first" and first):
            carried = None
            status.step("awaiting approval", current=[queue[0][0]["node"]])
            verdict = yield from _approval(context, cfg, control)
            if verdict != "approve":
                halted = f"not approved ({verdict})"
                break
        first = False
        wave = queue.pop(0)
        # One node after another, with no wait between: the previous node's last activity also
        # answered this node's preflight. Anything longer in between (soak, window, approval, a
        # pause, another execution) and the node checks for itself.
        following = queue[0][0]["node"] if len(wave) == 1 and queue and len(queue[0]) == 1 \
            and cfg["soakSeconds"] <= 0 and done_here + 1 < cfg["nodesPerExecution"] else None
        status.step("patch nodes", current=[n["node"] for n in wave])
        children = [
            context.call_sub_orchestrator(
                "patch_node",
                {"cluster": cluster_id, "node": n, "settings": node_cfg, "parent": context.instance_id,
                 **({"next": following} if following else {}),
                 **({"preflight": carried["check"]} if carried and carried["node"] == n["node"] else {})},
                f"{context.instance_id}:{n['node']}",
            )
            for n in wave
        ]
        results = yield from _collect(context, wave, children)
        done_here += len(wave)
        carried = None
        for result in results:
            if isinstance(result, dict) and "nextPreflight" in result:  # not kept in the summary
                carried = result.pop("nextPreflight")
            status.add_result(result)
            yield from durable.notify(context, cfg, notify_events.node_result_payload(
                result, cluster=cluster_id, instance_id=context.instance_id))
        halted = _halt_reason(status.tally, cfg)
        if queue and not halted and not control.cancel and cfg["soakSeconds"] > 0:
            status.step("soak")
            yield from control.wait(cfg["soakSeconds"])
    yield from control.catch_up()  # a command that came during the last wave is answered too
    return halted, [n for wave in queue for n in wave]


def _collect(context: OrchestrationContext, wave: list[dict[str, Any]], children: list[Any]):
    """Every child's own outcome, and only once every child has ended: a failed or terminated
    patch_node is reported as such while its siblings are waited for (the classic SDK's
    task_all fails at the first failure, durabletask's when_all waits for all: neither may
    decide when the cycle moves on). The children stay scheduled by the one task_all, so waiting
    on each afterwards schedules nothing new."""
    try:
        return (yield context.task_all(children))
    except Exception:  # noqa: BLE001 - at least one child failed: collect each on its own
        pass
    results = []
    for node, child in zip(wave, children, strict=True):
        try:
            results.append((yield child))
        except Exception as exc:  # noqa: BLE001 - terminated or crashed: say so, do not vanish
            results.append(_lost_child(node, exc))
    return results


def _lost_child(node: dict[str, Any], exc: BaseException) -> dict[str, Any]:
    """The result of a patch_node that ended without one (terminated, or the worker crashed)."""
    return {"node": node["node"], "pool": node.get("pool", ""), "result": NodeResult.ERROR, "steps": [], "seconds": 0,
            "reason": f"patch_node ended without a result ({durable.error_text(exc)}); the node may still be "
                      "cordoned by us: the next cycle resumes it, or uncordon it by hand",
            "cordoned": "unknown", "before": {"bootId": node.get("bootId", ""), "kernel": node.get("kernel", "")}}


def _halt_reason(tally: dict[str, Any], cfg: dict[str, Any]) -> str | None:
    """Failure policy: stop after maxFailedNodes failures, or maxBlockedNodes quarantined nodes,
    or any cluster-wide block (alerts do not go away by moving to the next node). Reads the
    status's tally of every node done (CycleStatus.tally), earlier executions' included."""
    if tally["halting"] >= cfg["maxFailedNodes"]:
        last = tally["lastHalting"]
        return f"node {last['node']} {last['result']}: {last.get('reason', '')}"
    if tally["quarantined"] >= cfg["maxBlockedNodes"]:
        return f"{tally['quarantined']} node(s) quarantined (maximum {cfg['maxBlockedNodes']})"
    if tally["lastBlocked"]:
        return f"node {tally['lastBlocked']['node']} blocked: {tally['lastBlocked'].get('reason', '')}"
    return None


def _approval(context: OrchestrationContext, cfg: dict[str, Any], control: Control):
    """Manual approval gate: approve, reject or cancel; on timeout the configured default."""
    deadline = context.current_utc_datetime + timedelta(seconds=cfg["approvalTimeoutSeconds"])
    control.awaiting_approval = True
    while context.current_utc_datetime < deadline:
        remaining = (deadline - context.current_utc_datetime).total_seconds()
        command = yield from control.wait(remaining)
        if command is None:
            break
        if command.get("action") in ("approve", "reject", "cancel"):
            control.awaiting_approval = False
            return command["action"]
    control.awaiting_approval = False
    return f"{cfg['approvalDefault']} (no answer in {cfg['approvalTimeoutSeconds']:.0f}s)" \
        if cfg["approvalDefault"] != "approve" else "approve"
