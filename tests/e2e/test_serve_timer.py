"""``python -m lab.local serve`` (``make serve``) fires the timer on REBOOTER_SCHEDULE and says when.

The banner's first lines are read by scripts and must not change; the timer lines come after
them, before "Ctrl-C stops".
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

from lab.local.stack import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_serve_fires_the_timer_on_its_schedule(tmp_path) -> None:
    port = free_port()
    env = {**os.environ, "REBOOTER_SCHEDULE": "*/2 * * * * *", "HOME": str(tmp_path), "COLUMNS": "300"}
    proc = subprocess.Popen([sys.executable, "-m", "lab.local", "serve", "lab/scenarios/minimal.yaml", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("Ctrl-C stops"):
                break
        banner = {line.partition(":")[0]: line.partition(":")[2].strip() for line in lines}
        assert banner["sandbox cluster"].endswith("/managedClusters/aks-minimal"), lines
        assert Path(banner["kubeconfig"]).is_file()
        assert banner["HTTP API"] == f"http://127.0.0.1:{port}/api/patch-cycles"
        assert lines[-1] == "Ctrl-C stops"
        timer = banner["timer"]
        assert timer.startswith("scheduled_patch_cycles on '*/2 * * * * *' (REBOOTER_SCHEDULE), next fire "), timer
        next_fire = datetime.strptime(timer.rsplit(" ", 1)[1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert next_fire.second % 2 == 0
        assert f"http://127.0.0.1:{port}/admin/functions/scheduled_patch_cycles" in banner["fire it now"]

        # Nobody POSTs: the schedule alone starts a cycle on the configured cluster.
        deadline = time.monotonic() + 120
        while True:
            runs = requests.get(f"http://127.0.0.1:{port}/api/patch-cycles", timeout=30).json()
            if runs["count"]:
                break
            assert time.monotonic() < deadline, runs
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    assert proc.returncode == 0 and "Traceback" not in rest, rest
