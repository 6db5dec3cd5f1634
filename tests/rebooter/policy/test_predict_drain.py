"""PDB pre-check: predict a drain that cannot finish, before cordoning (plain dicts)."""

from __future__ import annotations

from datetime import UTC, datetime

from rebooter.kube.drain import DrainOptions
from rebooter.outcomes import Verdict
from rebooter.policy.blockers import predict_drain

from .builders import owner, pdb, pod

NOW = datetime(2024, 5, 1, tzinfo=UTC)
WEB = {"app": "web"}


def predict(pods, pdbs, **options):
    return predict_drain(pods, pdbs, DrainOptions(**options), NOW)


def test_no_pdbs_is_ok():
    assert predict([pod("web-1", labels=WEB)], []) == {"verdict": "ok", "reasons": [], "evict": 1}


def test_budget_with_room_is_ok():
    result = predict([pod("web-1", labels=WEB)], [pdb("web", WEB, min_available=2)])
    assert result["verdict"] == "ok" and result["reasons"] == []


def test_min_available_equal_to_replicas_is_blocked():
    result = predict([pod("web-1", labels=WEB)],
                     [pdb("web", WEB, min_available=3, allowed=0, current=3, desired=3, expected=3)])
    assert result["verdict"] == Verdict.UNDRAINABLE
    assert result["reasons"] == ["cannot drain: PDB shop/web allows no disruption (minAvailable 3 of 3 pods); "
                                 "it covers shop/web-1 on this node"]


def test_max_unavailable_zero_is_blocked_even_while_unhealthy():
    result = predict([pod("web-1", labels=WEB)],
                     [pdb("web", WEB, max_unavailable=0, allowed=0, current=2, desired=3, expected=3)])
    assert result["verdict"] == Verdict.UNDRAINABLE
    assert "(maxUnavailable 0 of 3 pods)" in result["reasons"][0]


def test_single_replica_min_available_one_is_blocked():
    result = predict([pod("db-0", labels={"app": "db"}, controller=owner("StatefulSet", "db"))],
                     [pdb("db", {"app": "db"}, min_available=1, allowed=0, current=1, desired=1, expected=1)])
    assert result["verdict"] == Verdict.UNDRAINABLE and "minAvailable 1 of 1 pods" in result["reasons"][0]


def test_temporarily_unhealthy_is_wait():
    result = predict([pod("web-1", labels=WEB)],
                     [pdb("web", WEB, min_available=2, allowed=0, current=1, desired=2, expected=3)])
    assert result["verdict"] == "wait"
    assert "only 1 of its 3 pods are healthy and it must keep 2" in result["reasons"][0]


def test_eviction_in_flight_is_wait():
    result = predict([pod("web-1", labels=WEB)],
                     [pdb("web", WEB, min_available=2, allowed=0, current=3, desired=2, expected=3)])
    assert result["verdict"] == "wait" and "a disruption is already in progress" in result["reasons"][0]


def test_unready_pod_here_is_evicted_without_budget():
    # The eviction API lets an unready pod go when the PDB is otherwise satisfied.
    result = predict([pod("web-1", labels=WEB, ready=False)],
                     [pdb("web", WEB, min_available=2, allowed=0, current=2, desired=2, expected=3)])
    assert result["verdict"] == "ok"


def test_pending_finished_and_terminating_pods_ignore_pdbs():
    pods = [pod("web-1", labels=WEB, phase="Pending", ready=False), pod("web-2", labels=WEB, deleting=True)]
    result = predict(pods, [pdb("web", WEB, min_available=3, allowed=0, current=3, desired=3, expected=3)])
    assert result["verdict"] == "ok"


def test_pod_covered_by_two_pdbs_is_blocked():
    result = predict([pod("web-1", labels={"app": "web", "tier": "front"})],
                     [pdb("by-app", WEB), pdb("by-tier", {"tier": "front"})])
    assert result["verdict"] == Verdict.UNDRAINABLE
    assert result["reasons"] == ["cannot drain: pod shop/web-1 is covered by 2 PDBs (shop/by-app, shop/by-tier); "
                                 "the eviction API refuses such pods"]


def test_pdb_in_another_namespace_does_not_cover():
    result = predict([pod("web-1", labels=WEB)],
                     [pdb("web", WEB, namespace="other", min_available=3, allowed=0, current=3, desired=3, expected=3)])
    assert result["verdict"] == "ok"


def test_pdb_without_selector_covers_nothing():
    result = predict([pod("web-1", labels=WEB)], [pdb("none", None, allowed=0, current=0, desired=0, expected=0)])
    assert result["verdict"] == "ok"


def test_more_unreplaced_pods_than_the_budget_can_lose_is_blocked():
    pods = [pod(f"solo-{i}", labels={"app": "solo"}, controller=None) for i in range(2)]
    result = predict(pods, [pdb("solo", {"app": "solo"}, min_available=2, allowed=1, current=3, desired=2, expected=3)],
                     force=True)
    assert result["verdict"] == Verdict.UNDRAINABLE
    assert result["reasons"] == [
        "cannot drain: PDB shop/solo can lose at most 1 of its 3 pods (minAvailable 2 of 3 pods) and this node "
        "holds 2 that no controller replaces: shop/solo-0, shop/solo-1"]


def test_more_replaced_pods_than_allowed_is_ok():
    # Two of three replicas here, one disruption allowed: the ReplicaSet replaces the first elsewhere.
    pods = [pod("web-1", labels=WEB), pod("web-2", labels=WEB)]
    result = predict(pods, [pdb("web", WEB, min_available=2, allowed=1, current=3, desired=2, expected=3)])
    assert result["verdict"] == "ok" and result["evict"] == 2


def test_sync_failed_pdb_is_blocked_with_the_controller_message():
    pods = [pod("web-1", labels=WEB, controller=None)]
    result = predict(pods, [pdb("web", WEB, min_available="50%", allowed=0, current=0, desired=0, expected=0,
                                sync_failed='found no controller ref for pod "web-1"')], force=True)
    assert result["verdict"] == Verdict.UNDRAINABLE
    assert 'cannot be evaluated by the disruption controller: found no controller ref for pod "web-1"' in result["reasons"][0]


def test_unprocessed_pdb_is_wait():
    result = predict([pod("web-1", labels=WEB)], [pdb("web", WEB, generation=2, observed=1)])
    assert result["verdict"] == "wait" and "not been processed" in result["reasons"][0]


def test_kubectl_rules_decide_which_pods_are_evicted():
    # No controller and no --force: kubectl's error, nothing evicted; a DaemonSet pod is skipped.
    pods = [pod("bare", labels=WEB, controller=None),
            pod("agent", labels=WEB, controller=owner("DaemonSet", "agent"))]
    result = predict(pods, [pdb("web", WEB, min_available=3, allowed=0, current=3, desired=3, expected=3)])
    assert result["verdict"] == Verdict.UNDRAINABLE
    assert result["reasons"][0] == ("cannot drain: cannot delete Pods that declare no controller "
                                    "(use --force to override): shop/bare")
    assert result["evict"] == 0


def test_blocked_beats_wait_and_every_reason_is_listed():
    pods = [pod("web-1", labels=WEB), pod("api-1", labels={"app": "api"})]
    pdbs = [pdb("web", WEB, min_available=3, allowed=0, current=3, desired=3, expected=3),
            pdb("api", {"app": "api"}, min_available=2, allowed=0, current=1, desired=2, expected=3)]
    result = predict(pods, pdbs)
    assert result["verdict"] == Verdict.UNDRAINABLE
    assert [r.split(" ")[0] for r in result["reasons"]] == ["cannot", "PDB"]


def test_disable_eviction_skips_pdbs():
    result = predict([pod("web-1", labels=WEB)],
                     [pdb("web", WEB, min_available=3, allowed=0, current=3, desired=3, expected=3)],
                     disable_eviction=True)
    assert result["verdict"] == "ok"
