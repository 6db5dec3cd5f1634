"""JSON responses with the API's error shape: {"error", "field", "detail"}."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlsplit

import azure.functions as func


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


def timeline_url(req: func.HttpRequest, instance_id: str) -> str:
    """The cycle's timeline page (starters/views.py)."""
    return f"{base_url(req)}/api/patch-cycles/{quote(instance_id, safe='')}/timeline{key_suffix(req)}"
