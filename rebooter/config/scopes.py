"""Where a setting may be set, and which way an override may move it.

Every setting in rebooter.config.registry has a scope:

* ``app``: one value for the whole Function App (the cluster list, the timer, ARM);
* ``cluster``: the app value, or a cluster's own in ``REBOOTER_CLUSTER_OVERRIDES``;
* ``cycle``: also overridable per patch cycle in ``POST /api/patch-cycles`` ``overrides``.

A per-cycle override on the function-key route may only make a cycle **safer or slower** than
the app's settings for that cluster; each cycle setting says which way that is with a
:class:`Direction`. The admin route (``POST /api/admin/patch-cycles``, admin auth level) may
loosen. The order of choices is documented here and in the README:

* ``approval``: none < first < each (more approvals is safer);
* ``approvalDefault``: approve < reject;
* ``undrainablePolicy``: force < quarantine < skip. ``force`` deletes pods past their
  PodDisruptionBudgets; ``quarantine`` keeps a node we cordoned out of service (capacity lost
  until an operator looks); ``skip`` undoes our cordon and leaves the node as it was, so it
  changes the least;
* booleans: the safe value is the one that keeps PodDisruptionBudgets and pod data
  (``disableEviction``/``force``/``deleteEmptydirData`` false) or goes slower (``zoneAware`` true).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

APP, CLUSTER, CYCLE = "app", "cluster", "cycle"


@dataclass(frozen=True)
class Direction:
    """Which way an override may move a setting without loosening it."""

    describe: str  # for the README and error messages, e.g. "smaller", "none < first < each"
    allows: Callable[[Any, Any], bool]  # (app value, override) -> True when not looser


def smaller(key: Callable[[Any], float] = float, note: str = "") -> Direction:
    return Direction("smaller" + note, lambda base, new: key(new) <= key(base))


def larger(key: Callable[[Any], float] = float, note: str = "") -> Direction:
    return Direction("larger" + note, lambda base, new: key(new) >= key(base))


def order(*loosest_to_safest: Any) -> Direction:
    """Choices from the loosest to the safest; an override may only move right."""
    rank = {value: index for index, value in enumerate(loosest_to_safest)}
    text = " < ".join(str(v).lower() for v in loosest_to_safest)
    return Direction(text, lambda base, new: rank[new] >= rank[base])


def keep(safe: Any) -> Direction:
    """A boolean: the override may set the safe value, or keep the app's."""
    return Direction(f"{str(safe).lower()} only", lambda base, new: new == safe or new == base)


def zero_is_unlimited(value: Any) -> float:
    return math.inf if float(value) == 0 else float(value)


SAME = Direction("unchanged", lambda base, new: new == base)
GRACE = Direction("unchanged, or longer than an explicit app value (-1, the pod's own, is not comparable)",
                  lambda base, new: new == base or (base >= 0 and new >= base))
