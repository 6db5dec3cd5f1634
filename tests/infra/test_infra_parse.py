"""Every .bicep file parses, and a broken one is reported as file:line:column."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra.checks import INFRA, ROOT, bicep_files, bicep_parse

CHECK = [sys.executable, str(INFRA / "check.py")]


def test_every_bicep_file_parses_with_both_parsers():
    files = bicep_files()
    assert len(files) >= 10, files
    assert bicep_parse.check_files(files) == []


def _break(tmp_path: Path, old: str, new: str) -> tuple[Path, int, int]:
    """A copy of core/monitoring.bicep with ``old`` replaced; returns where ``new`` starts."""
    text = (INFRA / "core" / "monitoring.bicep").read_text()
    assert text.count(old) == 1
    broken = text.replace(old, new)
    offset = broken.index(new)
    line = broken.count("\n", 0, offset) + 1
    column = offset - (broken.rfind("\n", 0, offset) + 1) + 1
    path = tmp_path / "monitoring.bicep"
    path.write_text(broken)
    return path, line, column


@pytest.mark.parametrize(
    ("old", "new", "shift"),
    [
        # a stray token: both parsers point at it
        ("kind: 'web'", "kind: 'web' ]]", len("kind: 'web' ")),
        # a misspelt keyword: pycep points at it
        ("resource logAnalytics", "resorce logAnalytics", 0),
    ],
    ids=["stray-token", "misspelt-keyword"],
)
def test_broken_copy_fails_naming_file_line_column(tmp_path, old, new, shift):
    path, line, column = _break(tmp_path, old, new)
    done = subprocess.run([*CHECK, "parse", str(path)], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{path}:{line}:{column + shift}: " in done.stdout, done.stdout


def test_missing_parenthesis_is_reported_where_it_is_missing(tmp_path):
    old = "monitoringMetricsPublisherRoleId)\n  scope"
    path, line, _ = _break(tmp_path, old, "monitoringMetricsPublisherRoleId\n  scope")
    problems = bicep_parse.check_file(path)
    end_of_guid = len("  name: guid(applicationInsights.id, principalId, monitoringMetricsPublisherRoleId") + 1
    assert any(
        p.parser == "tree-sitter-bicep" and (p.line, p.column) == (line, end_of_guid) and "missing ')'" in p.message
        for p in problems
    ), problems
    assert any(p.parser == "pycep-parser" and p.line == line + 1 for p in problems), problems


def test_the_cli_checks_a_whole_folder(tmp_path):
    shutil.copytree(INFRA, tmp_path / "infra", ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    done = subprocess.run([*CHECK, "parse", str(tmp_path / "infra")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout
    target = tmp_path / "infra" / "app" / "function-app.bicep"
    target.write_text(target.read_text().replace("param planName string", "param planName"))
    done = subprocess.run([*CHECK, "parse", str(tmp_path / "infra")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"{target}:" in done.stdout, done.stdout


def test_unterminated_multiline_string_is_located(tmp_path):
    path = tmp_path / "x.bicep"
    path.write_text("var a = 1\nvar b = '''\nabc\n")
    problems = bicep_parse.check_file(path)
    assert any(p.parser == "pycep-parser" and p.line == 2 for p in problems), problems
