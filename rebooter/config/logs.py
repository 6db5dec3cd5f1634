"""Structured log lines: one JSON object per message, the same fields also as ``extra``.

The JSON message is what any pipeline keeps (the Functions host's Application Insights logger,
a local terminal); ``extra`` becomes customDimensions where the worker exports log attributes
(OpenTelemetry). docs/deploy.md's KQL reads ``parse_json(message)`` so it works with either.
Fields: event, cluster, node, step, instanceId, durationSeconds, result, reason.
"""

from __future__ import annotations

import json
import logging
from typing import Any


def event(logger: logging.Logger, name: str, level: int = logging.INFO, **fields: Any) -> None:
    record = {"event": name, **{k: v for k, v in fields.items() if v is not None}}
    logger.log(level, json.dumps(record, default=str, separators=(",", ":")), extra=record)
