"""Label and field selectors with the grammar and the errors of k8s.io/apimachinery.

Label selectors: ``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``, ``a notin (x,y)``, ``a``, ``!a``,
``a>1``, ``a<1``, comma separated (AND). ``!=`` and ``notin`` also match objects without the label,
as upstream. Field selectors: ``f=v``, ``f==v``, ``f!=v`` over the fields each kind supports; any
other field is a 400 BadRequest ``field label not supported: <f>`` like the real server.

Written apart from the app's own parser (rebooter's labelselector) on purpose: the sandbox is an
independent oracle, so a mistake in the app's selector handling cannot be mirrored here and pass.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .errors import ApiError

_KEY_RE = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!", "gt", "lt"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op in ("=", "in"):
            return present and value in self.values
        if self.op in ("!=", "notin"):
            return not present or value not in self.values
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if not present:
            return False
        try:
            have, want = int(value), int(self.values[0])
        except ValueError:
            return False
        return have > want if self.op == "gt" else have < want


LabelSelector = list[Requirement]


def _bad(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    terms, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    terms.append("".join(cur))
    return [t.strip() for t in terms]


def _check_key(key: str, term: str) -> str:
    if not key or not _KEY_RE.match(key) or len(key.split("/")[-1]) > 63:
        raise _bad(f"unable to parse requirement: invalid label key {key!r} in {term!r}")
    return key


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse the query-string form; an empty selector matches everything."""
    if not text or not text.strip():
        return []
    reqs: LabelSelector = []
    for term in _split_terms(text):
        if not term:
            raise _bad(f"unable to parse requirement: found '', expected: identifier in {text!r}")
        m = re.match(r"^(\S+?)\s+(in|notin)\s*\((.*)\)$", term)
        if m:
            values = tuple(v.strip() for v in m.group(3).split(",")) if m.group(3).strip() else ()
            reqs.append(Requirement(_check_key(m.group(1), term), m.group(2), values))
            continue
        m = re.match(r"^([^=!<>\s]+)\s*(==|!=|=|>|<)\s*(.*)$", term)
        if m:
            op = {"==": "=", ">": "gt", "<": "lt"}.get(m.group(2), m.group(2))
            value = m.group(3).strip()
            if op in ("gt", "lt") and not re.match(r"^-?\d+$", value):
                raise _bad(f"unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer in {term!r}")
            reqs.append(Requirement(_check_key(m.group(1), term), op, (value,)))
            continue
        if term.startswith("!"):
            reqs.append(Requirement(_check_key(term[1:].strip(), term), "!"))
            continue
        if re.search(r"\s", term):
            raise _bad(f"unable to parse requirement: found {term.split()[1]!r}, expected: in, notin, =, ==, !=, gt, lt")
        reqs.append(Requirement(_check_key(term, term), "exists"))
    return reqs


def labels_match(selector: LabelSelector, labels: dict[str, str] | None) -> bool:
    labels = labels or {}
    return all(r.matches(labels) for r in selector)


_EXPR_OPS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}


def selector_from_object(sel: dict | None) -> LabelSelector | None:
    """A metav1.LabelSelector (matchLabels / matchExpressions) as requirements; None for a nil selector."""
    if sel is None:
        return None
    reqs = [Requirement(k, "=", (str(v),)) for k, v in (sel.get("matchLabels") or {}).items()]
    for expr in sel.get("matchExpressions") or []:
        op = _EXPR_OPS.get(expr.get("operator", ""))
        if op is None:
            raise ApiError(422, "Invalid", f"{expr.get('operator')!r} is not a valid label selector operator")
        reqs.append(Requirement(expr["key"], op, tuple(expr.get("values") or ())))
    return reqs


# ---- field selectors -------------------------------------------------------------------------


def _path(*keys: str) -> Callable[[dict], str]:
    def get(obj: dict) -> str:
        cur = obj
        for k in keys:
            if not isinstance(cur, dict):
                return ""
            cur = cur.get(k)
        if cur is None:
            return ""
        if isinstance(cur, bool):
            return "true" if cur else "false"
        return str(cur)

    return get


def _bool_path(*keys: str) -> Callable[[dict], str]:
    inner = _path(*keys)
    return lambda obj: inner(obj) or "false"


_META_NAME = {"metadata.name": _path("metadata", "name")}
_META_NS = {**_META_NAME, "metadata.namespace": _path("metadata", "namespace")}

FIELDS: dict[str, dict[str, Callable[[dict], str]]] = {
    "nodes": {**_META_NAME, "spec.unschedulable": _bool_path("spec", "unschedulable")},
    "namespaces": {**_META_NAME, "status.phase": _path("status", "phase")},
    "pods": {
        **_META_NS,
        "spec.nodeName": _path("spec", "nodeName"),
        "spec.restartPolicy": _path("spec", "restartPolicy"),
        "spec.schedulerName": _path("spec", "schedulerName"),
        "spec.serviceAccountName": _path("spec", "serviceAccountName"),
        "spec.hostNetwork": _bool_path("spec", "hostNetwork"),
        "status.phase": _path("status", "phase"),
        "status.podIP": _path("status", "podIP"),
        "status.nominatedNodeName": _path("status", "nominatedNodeName"),
    },
    "events": {
        **_META_NS,
        **{f"involvedObject.{f}": _path("involvedObject", f)
           for f in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")},
        "reason": _path("reason"),
        "reportingComponent": _path("reportingComponent"),
        "source": _path("source", "component"),
        "type": _path("type"),
    },
    "replicasets": {**_META_NS, "status.replicas": _path("status", "replicas")},
}


@dataclass(frozen=True)
class FieldTerm:
    field: str
    negate: bool
    value: str


FieldSelector = list[FieldTerm]


def _unescape_split(text: str, sep: str) -> list[str]:
    """Split on an unescaped separator; keeps escapes for a later pass."""
    out, cur, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            cur.append(text[i:i + 2])
            i += 2
            continue
        if ch == sep:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    out.append("".join(cur))
    return out


def _unescape(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            if value[i + 1] not in "\\,=":
                raise _bad(f"invalid field selector: invalid escape sequence: \\{value[i + 1]}")
            out.append(value[i + 1])
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def parse_field_selector(text: str | None, kind: str, namespaced: bool = True) -> FieldSelector:
    """Parse and validate against the fields the kind supports (400 otherwise, as upstream)."""
    if not text or not text.strip():
        return []
    supported = FIELDS.get(kind, _META_NS if namespaced else _META_NAME)
    terms: FieldSelector = []
    for raw in _unescape_split(text, ","):
        raw = raw.strip()
        if not raw:
            continue
        m = re.match(r"^((?:[^=!\\]|\\.)+?)\s*(==|!=|=)(.*)$", raw)
        if not m:
            raise _bad(f"invalid selector: '{text}'; can't understand '{raw}'")
        name = m.group(1).strip()
        if name not in supported:
            raise _bad(f"field label not supported: {name}")
        terms.append(FieldTerm(name, m.group(2) == "!=", _unescape(m.group(3))))
    return terms


def fields_match(selector: FieldSelector, kind: str, obj: dict) -> bool:
    getters = FIELDS.get(kind, _META_NS)
    for term in selector:
        getter = getters.get(term.field) or _META_NS[term.field]
        if (getter(obj) == term.value) == term.negate:
            return False
    return True
