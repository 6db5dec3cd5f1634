"""Checkov finds no failed check and no parse error in infra/, and every skip is justified.

Checkov lives in .venv-checkov (requirements-infra.txt; `python infra/check.py setup-checkov`).
Where it is missing the tests skip, except in CI (CI set) or with REBOOTER_REQUIRE_CHECKOV=1,
where they fail: CI must run them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from infra.checks import INFRA, bicep_files, checkov_scan

SKIP_COMMENT = re.compile(r"//\s*checkov:skip=(CKV2?_[A-Z]+_\d+)\s*:\s*(\S.*)")


@pytest.fixture(scope="module")
def checkov() -> Path:
    try:
        return checkov_scan.find_checkov()
    except checkov_scan.CheckovUnavailable as exc:
        if os.environ.get("CI") or os.environ.get("REBOOTER_REQUIRE_CHECKOV") == "1":
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def report(checkov) -> checkov_scan.CheckovReport:
    return checkov_scan.run_checkov(INFRA, checkov)


def test_no_parse_errors_and_no_failed_checks(report):
    assert report.parsing_errors == []
    assert report.failed == [], "\n".join(str(finding) for finding in report.failed)
    assert report.passed > 0


def test_every_skip_has_a_reason_beside_its_resource(report):
    for finding in report.skipped:
        assert len(finding.reason) >= 30, f"{finding.check_id} on {finding.resource}: say why it is skipped"
        path = INFRA / finding.file
        start, end = finding.lines
        block = path.read_text().splitlines()[start - 1 : end]
        assert any(f"checkov:skip={finding.check_id}:" in line for line in block), finding


def test_every_skip_comment_skips_something(report):
    comments = set()
    for path in bicep_files():
        for match in SKIP_COMMENT.finditer(path.read_text()):
            comments.add((path.relative_to(INFRA).as_posix(), match.group(1)))
    used = {(finding.file, finding.check_id) for finding in report.skipped}
    assert comments == used, "a skip comment whose check no longer fires should be removed"


def test_a_file_checkov_cannot_parse_fails_the_check(checkov, tmp_path):
    source = (INFRA / "core" / "monitoring.bicep").read_text()
    (tmp_path / "broken.bicep").write_text(source.replace("kind: 'web'", "kind: 'web' ]]"))
    report = checkov_scan.run_checkov(tmp_path, checkov)
    assert report.parsing_errors, report.summary()
    assert not report.ok
