"""Kubernetes label selectors, parsed and matched locally (k8s.io/apimachinery/pkg/labels).

Why here: a blocking pod selector is validated when the settings load (a typo must stop the
app, not silently match nothing), and the blocker checks re-apply selectors to what the API
returned, so a pure function says which pods block and tests need no server. PDB selectors
(``matchLabels`` / ``matchExpressions`` objects) are matched with the same requirements.

Grammar (query-string form): requirements joined by commas (AND): ``k=v``, ``k==v``, ``k!=v``,
``k in (a,b)``, ``k notin (a,b)``, ``k`` (exists), ``!k`` (does not exist), ``k>1``, ``k<1``.
``!=`` and ``notin`` also match objects without the label, as upstream.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_PREFIX = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_KEY = re.compile(rf"^({_PREFIX}/)?{_NAME}$")
_VALUE = re.compile(rf"^({_NAME})?$")
_SET = re.compile(r"^(?P<key>\S+)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)$")
_BINARY = re.compile(r"^(?P<key>[^=!<>\s]+)\s*(?P<op>==|=|!=|>|<)\s*(?P<value>[^=!<>\s]*)$")

SELECTOR_HELP = "a label selector such as 'app=backup' or 'team in (db,cache),!canary'"


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!", ">", "<"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
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
        try:
            have, want = int(str(value)), int(self.values[0])
        except ValueError:
            return False
        return have > want if self.op == ">" else have < want


Selector = tuple[Requirement, ...]


def _split(text: str) -> list[str]:
    terms, depth, current = [], 0, []
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if depth < 0 or depth > 1:
            raise ValueError("unbalanced parentheses")
        if ch == "," and depth == 0:
            terms.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    if depth:
        raise ValueError("unbalanced parentheses")
    terms.append("".join(current).strip())
    return terms


def _key(key: str) -> str:
    name = key.rsplit("/", 1)[-1]
    prefix = key[: -len(name) - 1] if "/" in key else ""
    if not _KEY.fullmatch(key) or len(prefix) > 253:
        raise ValueError(f"invalid label key {key!r}")
    return key


def _value(value: str) -> str:
    if not _VALUE.fullmatch(value):
        raise ValueError(f"invalid label value {value!r} (at most 63 of A-Z a-z 0-9 - _ . , starting and ending alphanumeric)")
    return value


def parse(text: str) -> Selector:
    """Parse one selector; raise ValueError saying what is wrong. An empty text matches everything."""
    if not isinstance(text, str):
        raise ValueError(f"expected {SELECTOR_HELP}, got {text!r}")
    if not text.strip():
        return ()
    requirements: list[Requirement] = []
    try:
        terms = _split(text.strip())
    except ValueError as exc:
        raise ValueError(f"expected {SELECTOR_HELP}; {exc} in {text.strip()!r}") from None
    for term in terms:
        try:
            if not term:
                raise ValueError("empty requirement")
            if match := _SET.match(term):
                values = tuple(_value(v.strip()) for v in match["values"].split(","))
                requirements.append(Requirement(_key(match["key"]), match["op"], values))
            elif term.startswith("!"):
                requirements.append(Requirement(_key(term[1:].strip()), "!"))
            elif match := _BINARY.match(term):
                op = "=" if match["op"] == "==" else match["op"]
                value = match["value"]
                if op in (">", "<") and not re.fullmatch(r"-?\d+", value):
                    raise ValueError(f"{op} needs an integer value, got {value!r}")
                requirements.append(Requirement(_key(match["key"]), op, (_value(value),)))
            else:
                requirements.append(Requirement(_key(term), "exists"))
        except ValueError as exc:
            raise ValueError(f"expected {SELECTOR_HELP}; {exc} in {term!r}") from None
    return tuple(requirements)


def matches(selector: Selector, labels: Mapping[str, str] | None) -> bool:
    return all(r.matches(labels or {}) for r in selector)


def parse_list(raw: str) -> list[str]:
    """A semicolon-separated list of selectors (setting form), each validated, blanks dropped.

    Returned as the normalised texts (JSON-friendly, and what the API server is sent)."""
    out: list[str] = []
    for part in raw.split(";"):
        text = part.strip()
        if not text:
            continue
        parse(text)
        out.append(text)
    return out


def from_object(selector: Mapping[str, Any] | None) -> Selector | None:
    """A metav1.LabelSelector object (``matchLabels``, ``matchExpressions``) as requirements.

    None means "matches nothing" (policy/v1 PDB with no selector); ``{}`` matches everything."""
    if selector is None:
        return None
    requirements = [Requirement(k, "=", (str(v),)) for k, v in sorted((selector.get("matchLabels") or {}).items())]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for expression in selector.get("matchExpressions") or []:
        op = ops.get(expression.get("operator", ""))
        if op is None:
            raise ValueError(f"unknown selector operator {expression.get('operator')!r}")
        requirements.append(Requirement(expression.get("key", ""), op, tuple(expression.get("values") or ())))
    return tuple(requirements)
