"""A throw-away test CA and one server certificate for the sandbox's HTTPS servers.

The production adapters only speak HTTPS (azure-core's bearer-token policy refuses plain
http), so both emulators serve TLS with a certificate for 127.0.0.1 and localhost issued by
a trustme CA. Clients trust it through the CA file (``connection_verify=ca_file`` for the
Azure SDKs) or the CA embedded in the kubeconfig.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass
class SandboxCerts:
    ca_file: str
    ca_pem: str
    _ca: trustme.CA
    _server: trustme.LeafCert

    def server_context(self) -> ssl.SSLContext:
        """An SSLContext for a server socket presenting the 127.0.0.1/localhost certificate."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._server.configure_cert(ctx)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        self._ca.configure_trust(ctx)
        return ctx


def make_certs(directory: str | Path) -> SandboxCerts:
    """Issue the CA and server certificate; write the CA (PEM) to ``<directory>/ca.pem``."""
    ca = trustme.CA(organization_name="AKS rebooter sandbox")
    server = ca.issue_cert("127.0.0.1", "localhost", "::1")
    path = Path(directory) / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return SandboxCerts(ca_file=str(path), ca_pem=ca.cert_pem.bytes().decode(), _ca=ca, _server=server)
