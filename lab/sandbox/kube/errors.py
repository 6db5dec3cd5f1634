"""ApiError: a Kubernetes ``Status`` failure, raised in-process and returned as-is over HTTP.

The constructors below reproduce the messages of k8s.io/apimachinery/pkg/api/errors so that
clients (kubectl prints them verbatim) see the same text as against a real API server.
"""

from __future__ import annotations

from .kinds import KINDS, KindInfo


class ApiError(Exception):
    """A failed API call, carrying the v1 Status the server answers with."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.retry_after: int | None = (details or {}).get("retryAfterSeconds")

    def status(self) -> dict:
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body

    def __repr__(self) -> str:
        return f"ApiError({self.code}, {self.reason!r}, {self.message!r})"


def _details(kind: str, name: str) -> dict:
    info = KINDS.get(kind)
    d = {"name": name}
    if info and info.group:
        d["group"] = info.group
    d["kind"] = kind
    return d


def _qualified(kind: str) -> str:
    info = KINDS.get(kind)
    return info.group_resource if info else kind


def not_found(kind: str, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{_qualified(kind)} "{name}" not found', _details(kind, name))


def already_exists(kind: str, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f'{_qualified(kind)} "{name}" already exists', _details(kind, name))


def conflict(kind: str, name: str, why: str = "the object has been modified; please apply your changes to the latest version and try again") -> ApiError:
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {_qualified(kind)} "{name}": {why}',
                    _details(kind, name))


def invalid(kind: str, name: str, causes: list[tuple[str, str]]) -> ApiError:
    """422 Invalid; causes are (field, message) pairs, e.g. ("metadata.name", 'Required value: ...')."""
    info = KINDS.get(kind)
    kind_name = info.kind if info else kind
    text = "; ".join(f"{f}: {m}" for f, m in causes)
    msg = f'{kind_name} "{name}" is invalid: ' + (f"[{text}]" if len(causes) > 1 else text)
    details = {"name": name, **({"group": info.group} if info and info.group else {}), "kind": kind_name,
               "causes": [{"reason": "FieldValueInvalid", "message": m, "field": f} for f, m in causes]}
    return ApiError(422, "Invalid", msg, details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def internal_error(message: str) -> ApiError:
    return ApiError(500, "InternalError", f"Internal error occurred: {message}", {"causes": [{"message": message}]})


def too_many_requests(message: str, causes: list[dict] | None = None, retry_after: int = 0) -> ApiError:
    details: dict = {}
    if causes:
        details["causes"] = causes
    if retry_after:
        details["retryAfterSeconds"] = retry_after
    return ApiError(429, "TooManyRequests", message, details or None)


def resource_info(kind: str) -> KindInfo:
    """The KindInfo of a served resource; 404 like the API server for any other."""
    try:
        return KINDS[kind]
    except KeyError:
        raise ApiError(404, "NotFound", "the server could not find the requested resource") from None
