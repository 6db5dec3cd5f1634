"""Offline checks of the Bicep deployment (infra/check.py is the command line).

The Bicep compiler cannot be installed here, so CI checks what real tools can check without
it: syntax with two independent parsers, security with Checkov, and that the app settings the
code reads are exactly the ones the Bicep writes.
"""

from __future__ import annotations

from pathlib import Path

INFRA = Path(__file__).resolve().parent.parent
ROOT = INFRA.parent


def bicep_files(directory: Path = INFRA) -> list[Path]:
    """Every .bicep file under ``directory``, sorted, skipping hidden and cache folders."""
    return sorted(
        path
        for path in directory.rglob("*.bicep")
        if not any(part.startswith(".") or part == "__pycache__" for part in path.relative_to(directory).parts)
    )
