"""The API's OpenAPI 3 document (kept in the repo as openapi.json, served at /api/openapi.json)."""

from __future__ import annotations

from pathlib import Path

import azure.functions as func

DOCUMENT = Path(__file__).with_name("openapi.json")


def http_document(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(DOCUMENT.read_text(), status_code=200, mimetype="application/json")
