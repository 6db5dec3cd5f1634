"""One ARM endpoint in front of many sandboxes, so one app (one REBOOTER_ARM_ENDPOINT) sees a fleet.

Each sandbox emulates ARM for its own cluster. The app has a single ARM endpoint setting, as in
Azure, so the fleet benchmark puts this HTTPS router in front: a request is forwarded to the
sandbox that owns the resource group named in its path (the cluster's resource group, or its
node resource group for Microsoft.Compute calls), and sandbox URLs in the answer (Location,
Azure-AsyncOperation, nextLink) are rewritten to the router's origin. Bench-only plumbing: it
adds one loopback hop per ARM call, which the fleet result includes.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from lab.sandbox.certs import SandboxCerts
from lab.sandbox.serverthread import ServerThread

_RG = re.compile(r"/subscriptions/[^/]+/resourcegroups/([^/]+)/", re.IGNORECASE)
_SKIP = {"host", "content-length", "transfer-encoding", "connection", "content-encoding"}
_REWRITE = ("location", "azure-asyncoperation")


@dataclass(frozen=True)
class Backend:
    origin: str  # https://127.0.0.1:<port> of one sandbox's ARM emulator
    ca_file: str
    resource_groups: tuple[str, ...]  # lower-case: the cluster's and its node resource group


class ArmRouter:
    """``start()`` returns the router's URL; ``ca_file`` must be trusted by the app (see bundle)."""

    def __init__(self, backends: list[Backend], certs: SandboxCerts) -> None:
        self.backends = backends
        self.certs = certs
        self._by_rg = {rg: b for b in backends for rg in b.resource_groups}
        self._server: ServerThread | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""
        self.forwarded = 0

    def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        app.on_cleanup.append(self._close)
        self._server = ServerThread(app, self.certs.server_context(), name="arm-router")
        self.url = self._server.start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def _client_ssl(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        for backend in self.backends:
            ctx.load_verify_locations(backend.ca_file)
        return ctx

    async def _close(self, _app: web.Application) -> None:
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        match = _RG.search(request.path)
        backend = self._by_rg.get(match.group(1).lower()) if match else None
        if backend is None:
            return web.json_response({"error": {"code": "NotFound", "message": f"no sandbox for {request.path}"}},
                                     status=404)
        if self._session is None:
            connector = aiohttp.TCPConnector(ssl=self._client_ssl(), limit=0)
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        self.forwarded += 1
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _SKIP}
        body = await request.read()
        async with self._session.request(request.method, backend.origin + request.rel_url.raw_path_qs,
                                         headers=headers, data=body or None, allow_redirects=False) as answer:
            payload = await answer.read()
            out = {k: v for k, v in answer.headers.items() if k.lower() not in _SKIP}
        for key in list(out):
            if key.lower() in _REWRITE:
                out[key] = out[key].replace(backend.origin, self.url)
        payload = payload.replace(backend.origin.encode(), self.url.encode())
        return web.Response(status=answer.status, headers=out, body=payload)


def ca_bundle(path: str, files: list[str]) -> str:
    """Concatenate PEM CA files into one bundle (the app trusts one REBOOTER_ARM_CA_BUNDLE file)."""
    with open(path, "w", encoding="utf-8") as out:
        for name in files:
            with open(name, encoding="utf-8") as f:
                out.write(f.read().strip() + "\n")
    return path
