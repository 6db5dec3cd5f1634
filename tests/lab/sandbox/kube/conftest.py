"""Fixtures: each test gets its own emulator on 127.0.0.1:0 behind a fresh trustme CA."""

from __future__ import annotations

import json
import os
import secrets
import ssl
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme
import urllib3
import yaml
from kubernetes import client

from lab.sandbox.kube.server import KubeApiServer, kubeconfig
from lab.sandbox.kube.store import Store

KUBECTL = Path(sys.prefix) / "bin" / "kubectl"


@dataclass
class Cluster:
    store: Store
    server: KubeApiServer
    url: str
    token: str
    ca_file: Path
    kubeconfig_file: Path
    api: client.ApiClient
    cache_dir: Path

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    @property
    def policy(self) -> client.PolicyV1Api:
        return client.PolicyV1Api(self.api)

    @property
    def apps(self) -> client.AppsV1Api:
        return client.AppsV1Api(self.api)

    def raw(self, method: str, path: str, body: object = None, content_type: str = "application/json",
            headers: dict | None = None) -> urllib3.BaseHTTPResponse:
        """A plain HTTPS request with the bearer token (for what the typed client cannot express)."""
        pool = urllib3.PoolManager(ca_certs=str(self.ca_file))
        hdrs = {"Authorization": f"Bearer {self.token}", "Content-Type": content_type, **(headers or {})}
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        return pool.request(method, self.url + path, body=data, headers=hdrs, retries=False)

    def kubectl(self, *args: str, timeout: float = 60, check: bool = False) -> subprocess.CompletedProcess:
        cmd = [str(KUBECTL), "--kubeconfig", str(self.kubeconfig_file), "--cache-dir", str(self.cache_dir), *args]
        env = {**os.environ, "HOME": str(self.cache_dir)}
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc


@pytest.fixture
def cluster(tmp_path: Path):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ssl_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ssl_ctx)
    store = Store()
    store.pod_termination_seconds = 0.3
    token = secrets.token_hex(16)
    server = KubeApiServer(store, ssl_ctx, token=token)
    url = server.start()
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca.cert_pem.bytes())
    kc_file = tmp_path / "kubeconfig"
    kc_file.write_text(yaml.safe_dump(kubeconfig(url, ca.cert_pem.bytes(), token)))
    cfg = client.Configuration()
    cfg.host = url
    cfg.ssl_ca_cert = str(ca_file)
    cfg.api_key = {"authorization": token}
    cfg.api_key_prefix = {"authorization": "Bearer"}
    api = client.ApiClient(cfg)
    cache = tmp_path / "kube-cache"
    cache.mkdir()
    try:
        yield Cluster(store, server, url, token, ca_file, kc_file, api, cache)
    finally:
        api.close()
        server.stop()
