"""patch_node: take one node out, reboot it, and put it back — or say why not.

preflight (blockers, budget) + lock -> cordon -> drain (durable timers while PodDisruptionBudgets
refuse; the undrainable policy when it cannot finish) -> reboot -> wait until healthy (Ready,
new boot ID, sentinel gone) -> marks -> uncordon -> unlock.

Neighbouring steps with nothing between them share one activity (one round trip less each):
cordon + first drain pass, last drain pass + reboot, healthy check + marks + uncordon (+ the
next node's preflight). The runbook below still names every step and records each in the steps.

Safety rules kept on every path:
- only a node we cordoned is ever uncordoned (the cordon activity tells us);
- before the reboot, any failure undoes our cordon and releases the lock;
- a node that does not come back healthy keeps the lock and stays cordoned, so nothing else
  is taken out while something is wrong (the cycle halts and says so).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from orchestrators import durable
from orchestrators.control import Control
from orchestrators.node_lock import take_lock
from orchestrators.node_run import NodeRun, blocked_text, gone, gone_result, watch_until
from rebooter.contract import LAST_RESULT_ANNOTATION, QUARANTINE_LABEL, QUARANTINE_REASON_ANNOTATION
from rebooter.notifications import events as notify_events
from rebooter.outcomes import NodeResult

# The drain options are the settings of the same names (one spelling from the setting to DrainOptions).
DRAIN_OPTION_KEYS = ("drainGracePeriodSeconds", "deleteEmptydirData", "force", "drainPodSelector",
                     "skipWaitForDeleteTimeoutSeconds", "disableEviction")


def patch_node(context: Any):  # the runtime binds it: see orchestrators.context for the type
    job: dict[str, Any] = context.get_input()
    invalid = durable.invalid_settings(job.get("settings"))
    if invalid:  # an input nobody validated: take nothing, touch nothing
        node = job.get("node") or {}
        return {"node": node.get("node", ""), "pool": node.get("pool", ""), "result": NodeResult.ERROR, "reason": invalid,
                "steps": [], "seconds": 0, "before": {}}
    run = NodeRun(context, job, Control(context))
    cfg = run.cfg

    # 1. Preflight and lock: no blockers, and the budget (ours + already unavailable) allows one more.
    outcome = yield from take_lock(run, job.get("preflight"))
    if outcome:
        if run.facts.get("resume") and not outcome.get("lockKept") and not outcome.get("heldBy") \
                and outcome["result"] != NodeResult.GONE:
            return (yield from _undo_earlier_cordon(run, outcome))
        return outcome

    # 2. Cordon (remembering whether the cordon is ours). When nothing comes between the cordon
    # and the drain (no drain delay, no "draining" notification), the same activity makes the
    # first drain pass: one round trip less.
    rebooted = bool(run.facts.get("rebooted"))  # an interrupted cycle already rebooted it: straight to 5
    fold = not rebooted and cfg["drainDelaySeconds"] <= 0 and not notify_events.wants(cfg, "node_draining")
    run.begin("cordon")
    first, deadline = None, context.current_utc_datetime + timedelta(seconds=cfg["drainTimeoutSeconds"])
    try:
        if fold:
            first = yield run.activity("drain_node", options=_drain_options(cfg), forceDelete=False,
                                       cordonOwner=run.holder, waitSeconds=watch_until(context, cfg, deadline),
                                       **_reboot_after(run))
        else:
            cordon = yield run.activity("cordon_node", owner=run.holder)
    except Exception as exc:  # noqa: BLE001 - undo whatever part of the cordon happened
        if gone(exc):
            return gone_result(run, exc)
        what = "cordon and first drain pass" if fold else "cordon"
        return (yield from _give_back(run, NodeResult.ERROR, f"{what} failed: {durable.error_text(exc)}"))
    cordon = first["cordon"] if fold else cordon
    run.end(cordonedByUs=cordon["cordonedByUs"])
    if cordon["alreadyCordoned"] and not cordon["cordonedByUs"]:
        run.release()
        return run.result(NodeResult.SKIPPED, "cordoned by someone else after planning; left alone")
    if not rebooted:
        outcome = yield from _drain_and_reboot(run, first, deadline if fold else None)
        if outcome:
            return outcome

    # 5. Wait until healthy: Ready, a new boot ID, the sentinel gone. The check that sees it
    # healthy also makes step 6 in the same call (one round trip less); step 6 below then only
    # reads its answer, or does it on its own when that part failed.
    following = job.get("next")
    labels = {**{k: None for k in cfg["preRebootNodeLabels"]}, **cfg["postRebootNodeLabels"]}
    finish = {"labels": labels or None, "untaint": bool(cfg.get("preferNoScheduleTaint", True)),
              "annotations": {LAST_RESULT_ANNOTATION: NodeResult.PATCHED} if cfg["annotateNodes"] else None,
              **({"next": following, "settings": cfg} if following else {})}
    health = yield from _wait_healthy(run, finish)
    if health.get("gone"):
        return gone_result(run, health["gone"])
    if not health.get("healthy"):
        reasons = "; ".join(health.get("reasons", [])) or "not healthy"
        waited = "" if health.get("pending") is False else f" after {cfg['healthTimeoutSeconds']:.0f}s"
        return (yield from run.fail_keeping_lock(NodeResult.FAILED, f"not healthy{waited}: {reasons}"))
    run.end(bootId=health.get("bootId"), kernel=health.get("kernel"))
    # Rebooted into a new boot, but a package set the sentinel again: back in service all the same,
    # reported with its packages; planning leaves it alone for the reboot-loop cooldown.
    still = {"packages": health.get("packages") or []} if health.get("rebootRequired") else None

    # 6. Marks, uncordon (only our own cordon), the pending taint off, and unlock: one activity,
    # which also answers the next node's preflight (job["next"]), so that node starts at its lock.
    run.begin("uncordon")
    finished = health.get("finish")
    try:
        if not isinstance(finished, dict) or "error" in finished:
            finished = yield run.activity("finish_node", **finish, stillRequired=bool(still))
        run.steps[-1]["uncordoned"] = bool(finished["uncordon"].get("uncordoned"))
    except Exception as exc:  # noqa: BLE001
        if gone(exc):
            return gone_result(run, exc)
        return (yield from run.fail_keeping_lock(
            NodeResult.ERROR, f"rebooted and healthy, but uncordon failed: {durable.error_text(exc)}; the node is still "
                     "cordoned by us"))
    run.release()
    after = {"bootId": health.get("bootId", ""), "kernel": health.get("kernel", "")}
    checked = finished.get("next")
    carried = {"nextPreflight": {"node": following, "check": checked}} \
        if following and isinstance(checked, dict) and "error" not in checked else {}
    if still:
        return run.result(NodeResult.PATCHED, "rebooted and back in service, but it asks for a reboot again (packages: "
                          f"{', '.join(still['packages']) or 'none listed'}); left alone for "
                          f"{cfg.get('rebootLoopCooldownSeconds', 0):.0f}s", after=after, stillRequired=still,
                          **carried)
    return run.result(NodeResult.PATCHED, after=after, **carried)


def _drain_options(cfg: dict[str, Any]) -> dict[str, Any]:
    return {key: cfg[key] for key in DRAIN_OPTION_KEYS}


def _reboot_after(run: NodeRun) -> dict[str, Any]:
    """drain_node's ``rebootAfter`` when nothing comes between the drain and the reboot (no
    pre-reboot labels, no reboot delay): the pass that finishes the drain asks for the reboot too."""
    cfg = run.cfg
    if cfg["preRebootNodeLabels"] or cfg["rebootDelaySeconds"] > 0:
        return {}
    return {"rebootAfter": {"bootId": run.facts["bootId"], "method": cfg["rebootMethod"]}}


def _drain_and_reboot(run: NodeRun, first: dict[str, Any] | None, deadline: Any):
    """Steps 3 and 4; a result dict when the node does not get as far as its reboot. ``first``:
    the drain pass the cordon activity already made (its deadline with it), or None."""
    cfg = run.cfg
    if cfg["drainDelaySeconds"] > 0:
        yield from run.control.wait(cfg["drainDelaySeconds"])

    # 3. Drain, with the undrainable policy when it cannot finish.
    outcome, drained = yield from _drain(run, first, deadline)
    if outcome:
        return outcome

    # 4. Reboot. From here on a failure keeps the node cordoned and the lock held (failure policy).
    # The drain pass that finished already asked for it when nothing comes between (_reboot_after).
    run.begin("reboot")
    folded = drained.get("reboot")
    if isinstance(folded, dict) and "error" not in folded:
        run.note(withDrain=True)
        return None
    if isinstance(folded, dict):
        run.note(withDrain=folded["error"])  # asked again below, with the retry policy
    try:
        if cfg["preRebootNodeLabels"]:
            yield run.activity("mark_node", labels=cfg["preRebootNodeLabels"])
        if cfg["rebootDelaySeconds"] > 0:
            yield from run.control.wait(cfg["rebootDelaySeconds"])
        yield run.activity("reboot_node", bootId=run.facts["bootId"], method=cfg["rebootMethod"])
    except Exception as exc:  # noqa: BLE001
        if gone(exc):
            return gone_result(run, exc)
        return (yield from run.fail_keeping_lock(NodeResult.FAILED, f"reboot request failed: {durable.error_text(exc)}"))
    return None


def _drain(run: NodeRun, first: dict[str, Any] | None = None, deadline: Any = None):
    """Drain passes until done; on an impossible drain apply the undrainable policy. Returns
    (a result dict when the node goes no further, or None; the last pass's answer)."""
    context, cfg = run.context, run.cfg
    run.begin("drain")
    if first is None:  # a folded first pass was only made when nobody wants this notification
        yield from run.notify_draining()
    options = _drain_options(cfg)
    deadline = deadline or context.current_utc_datetime + timedelta(seconds=cfg["drainTimeoutSeconds"])
    force_delete = False
    attempts = 0
    reboot_after = _reboot_after(run)
    while True:
        attempts += 1
        try:
            if first is not None:
                drained, first = first, None
            else:
                drained = yield run.activity("drain_node", options=options, forceDelete=force_delete,
                                             waitSeconds=watch_until(context, cfg, deadline), **reboot_after)
        except Exception as exc:  # noqa: BLE001
            run.end(attempts=attempts)
            if gone(exc):
                return gone_result(run, exc), {}
            return (yield from _give_back(run, NodeResult.ERROR, f"drain failed: {durable.error_text(exc)}")), {}
        if drained["status"] == "done":
            run.end(attempts=attempts, forced=force_delete)
            return None, drained
        stuck = drained["status"] == "error" or context.current_utc_datetime >= deadline
        if stuck:
            why = "; ".join(drained.get("errors", [])) if drained["status"] == "error" else blocked_text(drained)
            policy = cfg["undrainablePolicy"]
            if policy == "force" and not force_delete:
                # Delete what eviction could not move, then give the deletions one more drain timeout.
                force_delete = True
                options = {**options, "force": True, "deleteEmptydirData": True, "drainGracePeriodSeconds": 0}
                deadline = context.current_utc_datetime + timedelta(seconds=cfg["drainTimeoutSeconds"])
                run.note(forcing=why)
                continue
            run.end(attempts=attempts)
            if policy == "quarantine":
                return (yield from _quarantine(run, why)), drained
            return (yield from _give_back(run, NodeResult.UNDRAINABLE, why)), drained
        if not drained.get("waited"):  # a watch that ran to its bound was the wait: call again at once
            yield from run.control.wait(cfg["drainRetrySeconds"])
        elif run.control.arrived():  # a cancel sent during that watch is read now, not after the drain
            yield from run.control.drain()
        yield from run.renew_lock()
        if run.control.cancel:
            run.end(attempts=attempts)
            return (yield from _give_back(run, NodeResult.CANCELLED, run.cancel_text())), drained


def _wait_healthy(run: NodeRun, finish: dict[str, Any]):
    """Check until healthy or the health timeout; a cancel now is noted only: the node is already
    down, so it is finished first. Each check watches for its event up to watchSeconds; a check
    that came back early without it (a broken watch, or watchSeconds 0) is followed by a durable
    timer, one that watched to its bound by the next check at once."""
    context, cfg = run.context, run.cfg
    run.begin("wait healthy")
    deadline = context.current_utc_datetime + timedelta(seconds=cfg["healthTimeoutSeconds"])
    watch = cfg.get("watchSeconds", 0)
    health: dict[str, Any] = {"waited": watch > 0}
    while True:
        if not health.get("waited"):
            yield from run.control.wait(cfg["healthPollSeconds"])
        try:
            health = yield context.call_activity("check_node_health", {**run.target,
                                                                       "waitSeconds": watch_until(context, cfg, deadline),
                                                                       "bootIdBefore": run.facts["bootId"],
                                                                       "finish": finish})
        except Exception as exc:  # noqa: BLE001 - one failed look is not a verdict; poll again
            if gone(exc):
                return {"healthy": False, "gone": exc}
            health = {"healthy": False, "reasons": [f"health check failed: {durable.error_text(exc)}"]}
        final = not health.get("healthy") and health.get("pending") is False  # e.g. the sentinel is still there
        if health.get("healthy") or final or context.current_utc_datetime >= deadline:
            return health
        yield from run.renew_lock()


def _undo_earlier_cordon(run: NodeRun, outcome: dict[str, Any]):
    """A node an interrupted cycle left cordoned by us that is not taken now (blocked, no room):
    give our cordon back rather than leave it cordoned with nobody owning it."""
    try:
        result = yield run.activity("uncordon_node")
    except Exception as exc:  # noqa: BLE001 - say so: it is still cordoned by us
        return {**outcome, "reason": f"{outcome['reason']}; our cordon from an earlier cycle could not be undone: "
                                     f"{durable.error_text(exc)}", "cordoned": True}
    return {**outcome, "reason": f"{outcome['reason']}; our cordon from an earlier cycle was undone",
            "cordoned": not result.get("uncordoned")}


def _undo_cordon(run: NodeRun):
    result = yield run.activity("uncordon_node")
    run.steps[-1]["uncordoned"] = bool(result.get("uncordoned"))
    return result


def _give_back(run: NodeRun, outcome: str, reason: str):
    """Before the reboot: undo our cordon (if it is ours) and free the lock, then report."""
    try:
        yield from _undo_cordon(run)
    except Exception as exc:  # noqa: BLE001 - say so: the node may still be cordoned by us
        return (yield from run.fail_keeping_lock(NodeResult.ERROR, f"{reason}; and uncordon failed: {durable.error_text(exc)}"))
    run.release()
    return run.result(outcome, reason)


def _quarantine(run: NodeRun, reason: str):
    """Undrainable policy quarantine: stay cordoned with a label saying why, free the lock."""
    try:
        yield run.activity("mark_node", labels={QUARANTINE_LABEL: "true"},
                           annotations={QUARANTINE_REASON_ANNOTATION: reason, LAST_RESULT_ANNOTATION: NodeResult.QUARANTINED})
    except Exception as exc:  # noqa: BLE001 - without the label, do not leave it cordoned silently
        return (yield from _give_back(run, NodeResult.UNDRAINABLE, f"{reason}; quarantine label failed: "
                                                          f"{durable.error_text(exc)}"))
    run.release()
    return run.result(NodeResult.QUARANTINED, reason, cordoned=True)
