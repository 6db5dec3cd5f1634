"""Run Checkov on the Bicep files and summarise its JSON report.

Checkov 3.3.30 pins pycep-parser 0.5.1 and packaging<24, which conflict with the main
virtual environment, so it lives in its own (.venv-checkov, from requirements-infra.txt).
It exits 0 when a file does not parse, so parse errors are read from ``summary.parsing_errors``
and ``results.parsing_errors`` and count as failures here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from infra.checks import INFRA, ROOT

CHECKOV_VENV = ROOT / ".venv-checkov"
REQUIREMENTS = ROOT / "requirements-infra.txt"


class CheckovUnavailable(RuntimeError):
    """Checkov is not installed where this module looks for it."""


@dataclass(frozen=True)
class Finding:
    check_id: str
    check_name: str
    resource: str
    file: str
    lines: tuple[int, int]
    reason: str = ""

    def __str__(self) -> str:
        text = f"{self.check_id} {self.file}:{self.lines[0]} {self.resource}: {self.check_name}"
        return f"{text}\n      reason: {self.reason}" if self.reason else text


@dataclass
class CheckovReport:
    version: str
    passed: int
    failed: list[Finding] = field(default_factory=list)
    skipped: list[Finding] = field(default_factory=list)
    parsing_errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.parsing_errors

    def summary(self) -> str:
        return (
            f"checkov {self.version}: passed {self.passed}, failed {len(self.failed)}, "
            f"skipped {len(self.skipped)}, parsing errors {len(self.parsing_errors)}"
        )


def find_checkov() -> Path:
    """CHECKOV_BIN, then .venv-checkov, then PATH."""
    candidates = [os.environ.get("CHECKOV_BIN", ""), str(CHECKOV_VENV / "bin" / "checkov"), shutil.which("checkov") or ""]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    raise CheckovUnavailable(
        "checkov not found (CHECKOV_BIN, .venv-checkov/bin/checkov, PATH); create it with: "
        f"{sys.executable} infra/check.py setup-checkov"
    )


def setup_checkov(python: str = sys.executable) -> Path:
    """Create .venv-checkov from requirements-infra.txt unless it already has checkov."""
    checkov = CHECKOV_VENV / "bin" / "checkov"
    if not checkov.exists():
        subprocess.run([python, "-m", "venv", str(CHECKOV_VENV)], check=True)
        pip = [str(CHECKOV_VENV / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
    return checkov


def run_checkov(directory: Path = INFRA, checkov: Path | None = None, timeout: float = 300) -> CheckovReport:
    """Scan ``directory`` (bicep framework, no downloads) and parse the JSON report."""
    checkov = find_checkov() if checkov is None else checkov
    command = [str(checkov), "-d", str(directory), "--framework", "bicep", "--skip-download", "-o", "json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"checkov exited {done.returncode}: {done.stderr[-2000:]}")
    return parse_report(done.stdout)


def parse_report(text: str) -> CheckovReport:
    data = json.loads(text)
    reports = data if isinstance(data, list) else [data]
    report = CheckovReport(version="?", passed=0)
    for item in reports:
        summary = item.get("summary", item)
        report.version = summary.get("checkov_version", report.version)
        report.passed += int(summary.get("passed", 0))
        results = item.get("results", {})
        report.failed += [_finding(c) for c in results.get("failed_checks", [])]
        report.skipped += [_finding(c) for c in results.get("skipped_checks", [])]
        errors = [str(e) for e in results.get("parsing_errors", [])]
        if not errors and int(summary.get("parsing_errors", 0)):
            errors = [f"{summary['parsing_errors']} file(s) Checkov could not parse"]
        report.parsing_errors += errors
    return report


def _finding(check: dict) -> Finding:
    suppression = (check.get("check_result") or {}).get("suppress_comment", "")
    start, end = (check.get("file_line_range") or [0, 0])[:2]
    return Finding(
        check_id=check.get("check_id", ""),
        check_name=check.get("check_name", ""),
        resource=check.get("resource", ""),
        file=str(check.get("file_path", "")).lstrip("/"),
        lines=(int(start), int(end)),
        reason=str(suppression).strip(),
    )
