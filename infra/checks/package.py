"""What the Function App package contains: the repository minus .funcignore.

azd and Core Tools read .funcignore with .gitignore rules; this implements the subset the file
uses (names, globs, a trailing / for folders, a leading / to anchor at the root) and refuses
anything else, so a new kind of rule cannot be silently misread.
"""

from __future__ import annotations

import zipfile
from fnmatch import fnmatchcase
from pathlib import Path

from infra.checks import ROOT

FUNCIGNORE = ROOT / ".funcignore"


def rules(text: str | None = None) -> list[str]:
    text = FUNCIGNORE.read_text(encoding="utf-8") if text is None else text
    found = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("!") or "**" in line:
            raise ValueError(f".funcignore rule {line!r}: negation and ** are not understood by infra/checks/package.py")
        found.append(line)
    return found


def is_excluded(relative: str, is_dir: bool, patterns: list[str]) -> bool:
    """Whether ``relative`` (a path from the root, with /) or one of its parents is ignored."""
    parts = relative.strip("/").split("/")
    for depth in range(1, len(parts) + 1):
        path = "/".join(parts[:depth])
        path_is_dir = is_dir or depth < len(parts)
        for pattern in patterns:
            dir_only = pattern.endswith("/")
            body = pattern.strip("/")
            if dir_only and not path_is_dir:
                continue
            anchored = pattern.startswith("/") or "/" in body
            if fnmatchcase(path if anchored else parts[depth - 1], body):
                return True
    return False


def deployed_files(root: Path = ROOT, patterns: list[str] | None = None) -> list[Path]:
    """Files the package would contain, sorted."""
    patterns = rules() if patterns is None else patterns
    found: list[Path] = []

    def walk(folder: Path) -> None:
        for entry in sorted(folder.iterdir()):
            relative = entry.relative_to(root).as_posix()
            if is_excluded(relative, entry.is_dir(), patterns):
                continue
            if entry.is_dir():
                walk(entry)
            else:
                found.append(entry)

    walk(root)
    return found


def build_zip(target: Path, root: Path = ROOT) -> list[str]:
    """Write the package as a zip (for `az functionapp deployment source config-zip`); returns its names."""
    names = []
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in deployed_files(root):
            if path.resolve() == target.resolve():
                continue
            name = path.relative_to(root).as_posix()
            archive.write(path, name)
            names.append(name)
    return names
