"""JSON responses with the API's error shape: {"error", "field", "detail"}."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlsplit

import azure.functions as func

from rebooter.config import names


def json_response(status: int, body: Any) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body, default=str), status_code=status, mimetype="application/json")


def error(status: int, message: str, field: str = "", detail: str = "", **extra: Any) -> func.HttpResponse:
    return json_response(status, {"error": message, "field": field, "detail": detail, **extra})


def misconfigured(exc: Exception) -> func.HttpResponse:
    """Invalid app settings: 503 naming each bad setting (the app cannot serve until fixed)."""
    return error(503, "the app is misconfigured", "settings", str(exc))


def runtime_status(status: Any) -> str | None:
    value = getattr(status, "runtime_status", None)
    return getattr(value, "value", value)


def body_object(req: func.HttpRequest) -> dict[str, Any]:
    """An optional JSON object body (empty body = {}); ValueError says what was wrong."""
    raw = req.get_body() or b""
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except RecursionError:
        raise ValueError("expected a JSON object, could not parse it: nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"expected a JSON object, could not parse it: {exc}") from None
    if not isinstance(body, dict):
        raise ValueError(f"expected a JSON object, got {type(body).__name__}")
    return body


def base_url(req: func.HttpRequest) -> str:
    parts = urlsplit(req.url)
    return f"{parts.scheme}://{parts.netloc}"


def key_suffix(req: func.HttpRequest) -> str:
    """Links keep the caller's function key (``?code=``) so they open in Azure too."""
    code = req.params.get("code")
    return f"?code={quote(code, safe='')}" if code else ""


def cycle_url(req: func.HttpRequest, instance_id: str) -> str:
    """The cycle's status URL, without the caller's key (the 202 of a start hands it out)."""
    return f"{base_url(req)}/api/patch-cycles/{quote(instance_id, safe='')}"


def timeline_url(req: func.HttpRequest, instance_id: str) -> str:
    """The cycle's timeline page (starters/views.py)."""
    return f"{cycle_url(req, instance_id)}/timeline{key_suffix(req)}"


def route_instance_id(req: func.HttpRequest, cycle_only: bool = False) -> str | func.HttpResponse:
    """The route's instance id, or the 400 for an id that is not one of ours (or a node's id where
    a cycle's is wanted)."""
    instance_id = req.route_params.get("instanceId", "")
    try:
        names.check_instance_id(instance_id)
    except ValueError as exc:
        return error(400, "invalid instance id", "instanceId", str(exc))
    if cycle_only and ":" in instance_id:
        return error(400, "invalid instance id", "instanceId", "a patch cycle's id, not one node's (no ':')")
    return instance_id


async def instance_status(client: Any, instance_id: str, show_input: bool = False) -> Any:
    """The instance's Durable status, or the 404 answer when there is no such instance."""
    status = await client.get_status(instance_id, show_input=True) if show_input else await client.get_status(instance_id)
    if status is None or runtime_status(status) is None:
        return error(404, "no such patch cycle", "instanceId", instance_id)
    return status


def operator_body(req: func.HttpRequest) -> dict[str, Any] | func.HttpResponse:
    """The body of an operator's command: a JSON object with only ``by`` and ``reason``, or the 400."""
    try:
        body = body_object(req)
    except ValueError as exc:
        return error(400, "invalid body", "body", str(exc))
    unknown = sorted(set(body) - {"by", "reason"})
    if unknown:
        return error(400, "unknown field", unknown[0], "expected some of: by, reason")
    return body
