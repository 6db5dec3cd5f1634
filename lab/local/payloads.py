"""Payload serialization shared by the local worker, client and HTTP API.

The classic SDK encodes every payload with ``df_dumps`` / ``df_loads`` (plain JSON, plus
the ``{"__class__", "__module__", "__data__"}`` envelope for objects with ``to_json``).
durabletask's default converter drops that envelope, so the engine uses this converter
everywhere: activities, orchestrators, entities and the client then see exactly the
values the Functions host would hand them.
"""

from __future__ import annotations

import warnings
from typing import Any

from azure.durable_functions.models.utils.df_serialization import df_dumps, df_loads
from durabletask.serialization import DataConverter


def loads(data: str) -> Any:
    """``df_loads`` without its one-time "no expected_type" advisory (the host passes none either)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return df_loads(data)


class ClassicJsonConverter(DataConverter):
    """durabletask ``DataConverter`` that round-trips payloads like the classic SDK."""

    def serialize(self, value: Any) -> str | None:
        if value is None:
            return None
        return df_dumps(value)

    def deserialize(self, data: str | None, target_type: type | None = None) -> Any:
        if data is None or data == "":
            return None
        return loads(data)

    def coerce(self, value: Any, target_type: type | None = None) -> Any:
        return value
