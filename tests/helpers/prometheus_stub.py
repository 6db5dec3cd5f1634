"""A tiny Prometheus query API on 127.0.0.1 (stdlib http.server, port 0) for the alert tests."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


def alert(name: str, state: str = "firing", value: str = "1", **labels: str) -> dict:
    return {"metric": {"__name__": "ALERTS", "alertname": name, "alertstate": state, **labels},
            "value": [1714000000.0, value]}


class PrometheusStub:
    """Answers GET /api/v1/query like Prometheus; ``status``, ``body`` and ``delay`` change the answer."""

    def __init__(self) -> None:
        self.alerts: list[dict] = []
        self.status = 200
        self.body: bytes | None = None  # overrides the JSON answer
        self.delay = 0.0
        self.fail_times = 0  # answer 503 this many times first (transient errors)
        self.requests: list[dict] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                url = urlparse(self.path)
                query = parse_qs(url.query)
                stub.requests.append({"path": url.path, "query": query.get("query", [""])[0],
                                      "authorization": self.headers.get("Authorization")})
                if stub.delay:
                    time.sleep(stub.delay)
                if stub.fail_times > 0:
                    stub.fail_times -= 1
                    self._send(503, b"service unavailable")
                    return
                if url.path != "/api/v1/query":
                    self._send(404, b"404 page not found")
                    return
                if stub.body is not None:
                    self._send(stub.status, stub.body)
                    return
                result = stub.alerts
                if 'alertstate="firing"' in query.get("query", [""])[0]:
                    result = [a for a in result if a["metric"].get("alertstate") == "firing"]
                body = {"status": "success", "data": {"resultType": "vector", "result": result}}
                if stub.status != 200:
                    body = {"status": "error", "errorType": "internal", "error": "query failed"}
                self._send(stub.status, json.dumps(body).encode())

            def _send(self, status: int, body: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> PrometheusStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
