"""The workbook document: valid workbook JSON, queries that name their events and type their fields."""

from __future__ import annotations

import copy
import json

import pytest

from infra.checks import INFRA, workbook


def test_workbook_is_a_notebook_document_with_the_four_views():
    doc = workbook.load()
    assert workbook.structure_problems(doc) == []
    names = {name for name, _ in workbook.queries(doc)}
    assert {"pending-over-time", "pending-now", "cycles", "halts", "last-reboot", "step-durations", "failures",
            "lock-holders", "kept-slots", "lock-history"} <= names
    for name, query in workbook.queries(doc):
        events, fields = workbook.reads(query)
        assert events and fields, name
    bicep = (INFRA / "app" / "monitoring-views.bicep").read_text()
    assert "loadTextContent('rebooter-workbook.json')" in bicep


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.update(version="Notebook/2.0"), "version must be Notebook/1.0"),
    (lambda d: d["items"].append({"type": 7, "content": {}, "name": "x"}), "type must be one of"),
    (lambda d: d["items"][0]["content"].pop("json"), "content.json"),
    (lambda d: d["items"][2]["content"]["items"][0]["content"].update(version="KqlItem/9"), "KqlItem/1.0"),
    (lambda d: d["items"][2]["content"]["items"][0]["content"].update(query=" "), "needs content.query"),
    (lambda d: d["items"][1].pop("name"), "unique name"),
])
def test_a_broken_document_is_refused(change, message):
    doc = copy.deepcopy(workbook.load())
    change(doc)
    assert any(message in p for p in workbook.structure_problems(doc)), workbook.structure_problems(doc)
    assert workbook.structure_problems([]) == ["the workbook must be a JSON object"]


def test_reads_finds_events_fields_and_refuses_untyped_or_eventless_reads():
    events, fields = workbook.reads('traces | extend d = parse_json(message) | where tostring(d.event) in ("a", "b")'
                                    ' | project x = todouble(d.durationSeconds), n = tostring(d.node)')
    assert events == {"a", "b"} and fields == {"durationSeconds": "todouble", "node": "tostring"}
    with pytest.raises(ValueError, match="without a typed conversion: node"):
        workbook.reads('where tostring(d.event) == "a" | project d.node')
    with pytest.raises(ValueError, match="names no event"):
        workbook.reads("project tostring(d.node)")
    with pytest.raises(ValueError, match="as tostring and as toint"):
        workbook.reads('where tostring(d.event) == "a" | project tostring(d.n), toint(d.n)')


def test_field_check_against_lines():
    doc = {"version": "Notebook/1.0", "items": [{"type": 3, "name": "q", "content": {
        "version": "KqlItem/1.0", "query": 'where tostring(d.event) == "probe" | project tobool(d.rebootRequired), '
                                           'tostring(d.node), todouble(d.durationSeconds)'}}]}
    good = [{"event": "probe", "rebootRequired": True, "node": "n1", "durationSeconds": 3}]
    assert workbook.field_problems(doc, good) == []
    without_node = [{k: v for k, v in good[0].items() if k != "node"}]
    assert "no field 'node'" in workbook.field_problems(doc, without_node)[0]
    assert "is read with tobool but is 'true'" in workbook.field_problems(doc, [{**good[0], "rebootRequired": "true"}])[0]
    assert "no log line with event 'probe'" in workbook.field_problems(doc, [{"event": "step"}])[0]
    assert json.loads(json.dumps(doc))  # plain JSON
