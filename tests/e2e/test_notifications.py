"""Notifications of a whole cycle reach a webhook receiver on loopback, in order, with their text."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@pytest.fixture
def receiver():
    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"json://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()


def test_cycle_events_arrive_in_order_with_their_text(stack_for, receiver):
    url, received = receiver
    stack = stack_for("lab/scenarios/minimal.yaml", REBOOTER_NOTIFY_URLS=url)
    instance = stack.api.start({"cluster": stack.sandbox.cluster_resource_id, "reason": "CVE-2026-0001"}).json()["id"]
    assert stack.api.wait(instance)["output"]["outcome"] == "completed"
    events = [r.get("event") for r in received]
    assert events == ["cycle_started", "node_draining", "node_healthy", "cycle_finished"], received
    node = stack.api.status(instance)["output"]["nodes"][0]["node"]
    texts = [f"{r.get('title', '')} {r.get('message', '')}" for r in received]
    assert "CVE-2026-0001" in texts[0]
    assert node in texts[1] and node in texts[2]
    assert all(r.get("eventId", "").startswith(instance) for r in received)
