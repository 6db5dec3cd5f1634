"""``python -m lab.sandbox <scenario>`` prints where everything is, serves kubectl, and stops on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
KUBECTL = str(Path(sys.executable).parent / "kubectl")


def test_main_prints_endpoints_and_stops_cleanly(tmp_path) -> None:
    timeline = tmp_path / "timeline.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "lab.sandbox", "lab/scenarios/minimal.yaml", "--timeline", str(timeline)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines: dict[str, str] = {}
        for line in proc.stdout:  # ends at "started in ..." (the process keeps running)
            if line.startswith("started in"):
                break
            key, _, value = line.partition(":")
            lines[key.strip()] = value.strip()
        assert lines["ARM endpoint"].startswith("https://127.0.0.1:")
        assert Path(lines["CA file"]).is_file()
        assert lines["cluster resource ID"].endswith("/managedClusters/aks-minimal")
        out = subprocess.run([KUBECTL, "--kubeconfig", lines["kubeconfig"], "get", "nodes"], capture_output=True,
                             text=True, timeout=30, env={**os.environ, "HOME": str(tmp_path)})
        assert out.returncode == 0 and out.stdout.count(" Ready ") == 2, out.stdout + out.stderr
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and "sandbox stopped" in rest and "Traceback" not in rest
    assert timeline.read_text().count('"kind": "node"') == 2
    assert not Path(lines["CA file"]).exists()  # its working directory is cleaned up


def test_main_rejects_an_invalid_scenario(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("pools:\n  - {name: system, mode: System, count: three}\n")
    out = subprocess.run([sys.executable, "-m", "lab.sandbox", str(bad)], cwd=ROOT, capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 2 and 'pools[0].count: expected an integer >= 1, got "three"' in out.stderr
