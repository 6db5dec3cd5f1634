"""Several seeds at once: worker processes, each with its own shared engine.

App settings are process-wide, so one process runs one sandbox at a time; runs mostly wait on
durable timers, so a few processes side by side use the cores well. Each worker is
``python -m lab.faultrun worker``: it reads one JSON request per line on stdin and answers one
report per line on its original stdout (anything the app prints goes to its log file).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable
from concurrent.futures import Future
from pathlib import Path
from queue import Queue
from typing import Any

from lab.faultrun.run import Report

ROOT = Path(__file__).resolve().parents[2]


class WorkerDied(RuntimeError):
    """A worker process ended while running a seed (its log tail is in the message)."""


class RunPool:
    def __init__(self, workers: int = 2, log_dir: str | Path | None = None) -> None:
        self._own_logs = log_dir is None  # a temporary log directory is removed unless a worker died
        self._died = False
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix="faultrun-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._queue: Queue[tuple[dict[str, Any], Future[Report]] | None] = Queue()
        self._threads = [threading.Thread(target=self._serve, args=(i,), daemon=True, name=f"faultrun-worker-{i}")
                         for i in range(max(1, workers))]
        for thread in self._threads:
            thread.start()

    def submit(self, seed: int, sabotage: bool = False, plan: dict[str, Any] | None = None) -> Future[Report]:
        """Run ``seed``'s plan, or ``plan`` (a RunPlan as a dict: a regression kept verbatim)."""
        future: Future[Report] = Future()
        self._queue.put(({"seed": seed, "sabotage": sabotage, **({"plan": plan} if plan else {})}, future))
        return future

    def submit_all(self, seeds: Iterable[int]) -> dict[int, Future[Report]]:
        return {seed: self.submit(seed) for seed in seeds}

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=30)
        if self._own_logs and not self._died:
            shutil.rmtree(self.log_dir, ignore_errors=True)

    def __enter__(self) -> RunPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _spawn(self, index: int) -> tuple[subprocess.Popen[str], Path]:
        log = self.log_dir / f"worker-{index}.log"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        with open(log, "a", encoding="utf-8") as stderr:
            proc = subprocess.Popen([sys.executable, "-m", "lab.faultrun", "worker"], cwd=ROOT, env=env, text=True,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, bufsize=1)
        return proc, log

    def _serve(self, index: int) -> None:
        proc, log = self._spawn(index)
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                request, future = item
                seed = request["seed"]
                try:
                    assert proc.stdin is not None and proc.stdout is not None
                    proc.stdin.write(json.dumps(request) + "\n")
                    proc.stdin.flush()
                    line = proc.stdout.readline()
                    if not line:
                        self._died = True
                        raise WorkerDied(f"worker {index} ended while running seed {seed}:\n{_tail(log)}")
                    future.set_result(Report.from_dict(json.loads(line)))
                except Exception as exc:  # noqa: BLE001 - the waiting test sees it; the pool goes on
                    future.set_exception(exc)
                    if proc.poll() is not None or isinstance(exc, (WorkerDied, BrokenPipeError)):
                        proc.kill()
                        proc, log = self._spawn(index)
        finally:
            if proc.stdin:
                proc.stdin.close()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def serve_worker() -> None:
    """The worker's side: reports as JSON lines on the original stdout, app output to stderr."""
    results = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    from lab.faultrun.generate import RunPlan
    from lab.faultrun.run import run_plan, run_seed
    from lab.faultrun.stack import shared_engine

    engine = shared_engine()
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            request = json.loads(line)
            if "plan" in request:
                report = run_plan(RunPlan(**request["plan"]), sabotage=bool(request.get("sabotage")))
            else:
                report = run_seed(int(request["seed"]), sabotage=bool(request.get("sabotage")))
            results.write(json.dumps(report.to_dict(), default=str) + "\n")
            results.flush()
    finally:
        engine.stop()
        results.close()
        sys.stderr.flush()
        os._exit(0)  # the engine's gRPC threads must not keep the process alive
