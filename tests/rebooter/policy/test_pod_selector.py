"""Blocking pod selectors: the selector grammar and which pods block (plain pod dicts)."""

from __future__ import annotations

import pytest

from rebooter.policy import labelselector
from rebooter.policy.blockers import blocking_pods, pod_reasons

from .builders import pod


@pytest.mark.parametrize(("selector", "labels", "expected"), [
    ("app=backup", {"app": "backup"}, True),
    ("app==backup", {"app": "backup"}, True),
    ("app=backup", {"app": "web"}, False),
    ("app!=backup", {}, True),
    ("app!=backup", {"app": "backup"}, False),
    ("team in (db, cache)", {"team": "cache"}, True),
    ("team notin (db,cache)", {"team": "web"}, True),
    ("team notin (db,cache)", {}, True),
    ("team notin (db,cache)", {"team": "db"}, False),
    ("example.com/critical", {"example.com/critical": ""}, True),
    ("!canary", {"canary": "yes"}, False),
    ("app=backup,!canary", {"app": "backup"}, True),
    ("app=backup,!canary", {"app": "backup", "canary": "1"}, False),
    ("tier>2", {"tier": "3"}, True),
    ("tier<2", {"tier": "x"}, False),
    ("", {"anything": "x"}, True),
])
def test_selector_matching(selector, labels, expected):
    assert labelselector.matches(labelselector.parse(selector), labels) is expected


@pytest.mark.parametrize("bad", ["app=has space", "team in (db", "app=b=c", "-bad=1", "app in ()x", "a,,b",
                                 "tier>two", "Bad_Prefix/app=x", "a=" + "x" * 64])
def test_invalid_selectors_say_what_is_expected(bad):
    with pytest.raises(ValueError, match="label selector such as"):
        labelselector.parse(bad)


def test_setting_list_is_semicolon_separated():
    assert labelselector.parse_list(" app=backup ; ;team in (a,b),!x;") == ["app=backup", "team in (a,b),!x"]
    assert labelselector.parse_list("") == []


def test_selector_objects_like_pdbs():
    sel = labelselector.from_object({"matchLabels": {"app": "web"},
                                     "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]},
                                                          {"key": "canary", "operator": "DoesNotExist"}]})
    assert labelselector.matches(sel, {"app": "web", "tier": "a"})
    assert not labelselector.matches(sel, {"app": "web", "tier": "a", "canary": "1"})
    assert labelselector.from_object(None) is None
    assert labelselector.matches(labelselector.from_object({}), {"x": "y"})


PODS = [
    pod("backup-1", node="n1", namespace="ops", labels={"app": "backup"}),
    pod("backup-2", node="n2", namespace="ops", labels={"app": "backup"}, phase="Pending"),
    pod("backup-old", node="n1", namespace="ops", labels={"app": "backup"}, phase="Succeeded"),
    pod("failed", node="n1", namespace="ops", labels={"app": "backup"}, phase="Failed"),
    pod("web-1", node="n1", labels={"app": "web"}),
]


def test_blocking_pods_on_a_node():
    assert blocking_pods(PODS, ["app=backup"], "n1") == ["ops/backup-1"]
    assert blocking_pods(PODS, ["app=backup"], "n3") == []


def test_blocking_pods_anywhere_include_pending():
    assert blocking_pods(PODS, ["app=backup"]) == ["ops/backup-1", "ops/backup-2"]


def test_any_of_several_selectors():
    assert blocking_pods(PODS, ["app=nothing", "app in (web)"], "n1") == ["shop/web-1"]
    assert blocking_pods(PODS, []) == []


def test_reason_text():
    assert pod_reasons(["ops/backup-1"], "n1") == [
        "blocking pod running on node n1: ops/backup-1 (REBOOTER_BLOCKING_POD_SELECTORS)"]
    many = [f"ops/p{i:02d}" for i in range(12)]
    assert pod_reasons(many, None)[0].endswith("ops/p09 and 2 more (REBOOTER_BLOCKING_POD_SELECTORS)")
    assert pod_reasons([], None) == []
