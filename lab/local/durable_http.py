"""HTTP on 127.0.0.1: the durable API and the app's own HTTP functions.

Two kinds of aiohttp servers run on the engine's event loop:

- the *durable API* listener (like the host's local RPC endpoint): the extension routes
  at ``/durabletask/`` (the binding's ``rpcBaseUrl``) and at
  ``/runtime/webhooks/durabletask/`` (where status URLs point);
- the *front* (like ``func start`` on port 7071): the app's HTTP functions under
  ``/<routePrefix>/<route>`` plus the same webhook routes, so the URLs that
  ``create_check_status_response`` rewrites to the request's origin work.

An HTTP function gets a real ``azure.functions.HttpRequest`` (method, url, headers,
query params, route params, body) and, when it has a durable client binding, the
binding JSON; its ``HttpResponse`` (or str/bytes) is sent back as is.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable
from typing import Any

import azure.functions as func
from aiohttp import web

from lab.local.durable_api import DurableApi
from lab.local.functions import Starter
from lab.local.starters import WEBHOOK_PATH, invoke

log = logging.getLogger(__name__)
RPC_PATH = "/durabletask"

_PARAM = re.compile(r"\{(\*{1,2})?([A-Za-z_][A-Za-z0-9_]*)((?::[^{}?=]+)*)(\?)?(?:=[^{}]*)?\}")
_CONSTRAINTS = {"int": r"-?\d+", "long": r"-?\d+", "alpha": r"[A-Za-z]+", "bool": r"(?i:true|false)",
                "guid": r"[0-9A-Fa-f]{8}-?(?:[0-9A-Fa-f]{4}-?){3}[0-9A-Fa-f]{12}"}


def require_loopback(host: str) -> None:
    """Refuse to listen anywhere but the loopback interface (project rule)."""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ValueError(f"local servers listen on loopback only, not {host!r}")


class RouteTemplate:
    """An ASP.NET-style route template (``patch-cycles/{instanceId}``, ``{id:int?}``, ``{*rest}``)."""

    def __init__(self, template: str) -> None:
        self.template = template.strip("/")
        pattern = ""
        self.literals = 0
        for segment in [s for s in self.template.split("/") if s]:
            matches = list(_PARAM.finditer(segment))
            piece, position = "", 0
            for match in matches:
                piece += re.escape(segment[position:match.start()])
                catch_all, name, constraints, _ = match.groups()
                regex = r".*" if catch_all else r"[^/]+"
                for constraint in (c for c in (constraints or "").split(":") if c):
                    regex = _CONSTRAINTS.get(constraint.split("(")[0].lower(), regex)
                piece += f"(?P<{name}>{regex})"
                position = match.end()
            piece += re.escape(segment[position:])
            if not matches:
                self.literals += 1
            whole = len(matches) == 1 and matches[0].span() == (0, len(segment))
            optional = whole and bool(matches[0].group(1) or matches[0].group(4))
            pattern += f"(?:/{piece})?" if optional else f"/{piece}"
        self._regex = re.compile(f"^{pattern}/?$", re.IGNORECASE)

    def match(self, path: str) -> dict[str, str] | None:
        stripped = path.strip("/")
        found = self._regex.match("/" + stripped if stripped else "")
        if found is None:
            return None
        return {k: v for k, v in found.groupdict().items() if v is not None}


class HttpFunction:
    """One HTTP-triggered function: its route, its methods, its starter."""

    def __init__(self, starter: Starter) -> None:
        self.starter = starter
        self.route = RouteTemplate(getattr(starter.trigger, "route", None) or starter.name)
        methods = getattr(starter.trigger, "methods", None)
        self.methods = {getattr(m, "value", str(m)).upper() for m in methods} if methods else None


def to_aiohttp(result: Any) -> web.Response:
    """What an HTTP function returned, as the worker would send it."""
    if isinstance(result, func.HttpResponse):
        headers = dict(result.headers)
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = f"{result.mimetype}; charset={result.charset}"
        return web.Response(status=result.status_code, body=result.get_body(), headers=headers)
    if isinstance(result, (str, bytes)):
        return web.Response(status=200, body=result.encode() if isinstance(result, str) else result)
    if result is None:
        return web.Response(status=204)
    raise TypeError(f"an HTTP function returned {type(result).__name__}, not HttpResponse/str/bytes")


async def to_functions_request(request: web.Request, route_params: dict[str, str]) -> func.HttpRequest:
    headers: dict[str, str] = {}
    for key, value in request.headers.items():
        headers[key.lower()] = f"{headers[key.lower()]}, {value}" if key.lower() in headers else value
    params: dict[str, str] = {}
    for key, value in request.query.items():
        params.setdefault(key, value)
    return func.HttpRequest(method=request.method, url=str(request.url), headers=headers, params=params,
                            route_params=route_params, body=await request.read())


def build_api_app(api: DurableApi) -> web.Application:
    """The durable API listener: extension routes at the RPC path and the webhook path."""
    app = web.Application()
    api.add_routes(app, RPC_PATH)
    api.add_routes(app, WEBHOOK_PATH)
    return app


def build_front_app(api: DurableApi, starters: list[Starter], binding_for: Callable[[str], str],
                    route_prefix: str = "api", admin_fire: Callable[[str], None] | None = None) -> web.Application:
    """The ``func start`` look-alike: webhook routes, the admin route that runs a non-HTTP
    function now, and the app's HTTP functions."""
    app = web.Application()
    api.add_routes(app, WEBHOOK_PATH)
    if admin_fire is not None:
        app.router.add_post("/admin/functions/{name}", _admin_route(admin_fire))
    functions = sorted((HttpFunction(s) for s in starters), key=lambda f: -f.route.literals)
    prefix = "/" + route_prefix.strip("/") if route_prefix.strip("/") else ""

    async def dispatch(request: web.Request) -> web.StreamResponse:
        path = request.path[len(prefix):] if request.path.lower().startswith(prefix.lower()) else None
        if path is None or (prefix and path and not path.startswith("/")):
            return web.Response(status=404)
        allowed = False
        for function in functions:
            route_params = function.route.match(path)
            if route_params is None:
                continue
            allowed = True
            if function.methods is not None and request.method not in function.methods:
                continue
            http_request = await to_functions_request(request, route_params)
            try:
                result = await invoke(function.starter, http_request, binding_for(str(request.url.origin())))
                return to_aiohttp(result)
            except Exception:
                log.exception("HTTP function %s failed", function.starter.name)
                return web.Response(status=500)
        return web.Response(status=405 if allowed else 404)

    app.router.add_route("*", "/{tail:.*}", dispatch)  # after the webhooks; prefix matched case-insensitively
    return app


def _admin_route(fire: Callable[[str], None]) -> Callable[[web.Request], Any]:
    """``POST /admin/functions/{name}`` with ``{"input": ""}``: the Functions host's route for
    running a non-HTTP-triggered function on demand; it answers 202 and runs the function in the
    background ("Manually run a non HTTP-triggered function", Microsoft Learn,
    azure-functions/functions-manually-run-non-http). In Azure it needs the master key; when
    running locally the host enforces no authorization (same page), and this front listens on
    loopback only."""

    async def admin(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        try:
            body = await request.json() if await request.read() else {}
        except ValueError:
            body = None
        # The trigger input "can only be a string, number, or Boolean" (same page); a timer ignores it.
        if not isinstance(body, dict) or not isinstance(body.get("input", ""), str | int | float | bool):
            return web.json_response({"error": 'the body must be JSON like {"input": ""} (a string, number or '
                                               'boolean input)'}, status=400)
        try:
            fire(name)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=404)
        return web.Response(status=202)

    return admin


class Server:
    """An aiohttp application listening on a loopback address (port 0 picks a free port)."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        require_loopback(host)
        self._app = app
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def origin(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    async def start(self) -> Server:
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port, reuse_port=False)
        await site.start()
        self._port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
