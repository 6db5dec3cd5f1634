#!/usr/bin/env python3
"""Offline checks of the Bicep deployment; the same checks tests/infra runs.

    python infra/check.py                 # parse + types + settings + checkov (all)
    python infra/check.py parse [PATH...] # every .bicep file (or the given files/folders) parses
    python infra/check.py types [PATH...] # resource bodies against Azure's type definitions
                                          # (infra/checks/types, from Azure/bicep-types-az),
                                          # module params against the called file's parameters,
                                          # property and module-output reads against their types
    python infra/check.py types-sync GIT_DIR  # re-extract those definitions from a
                                          # bicep-types-az git directory (its HEAD)
    python infra/check.py settings        # app settings read by the code == written by the Bicep
    python infra/check.py checkov [DIR]   # 0 parsing errors, 0 failed checks; skips listed
    python infra/check.py sync            # regenerate infra/app/rebooter-settings.json (from
                                          # rebooter/config/registry.py)
    python infra/check.py setup-checkov   # create .venv-checkov from requirements-infra.txt
    python infra/check.py package ZIP     # the Function App package (repository minus .funcignore)

Exit status 0 when every selected check passes, 1 otherwise. Problems are printed as
file:line:column so an editor can jump to them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from infra.checks import (  # noqa: E402
    INFRA,
    app_settings,
    bicep_files,
    bicep_modules,
    bicep_parse,
    bicep_reads,
    bicep_types,
    bicep_types_sync,
    checkov_scan,
    package,
)


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def check_parse(targets: list[Path]) -> bool:
    files: list[Path] = []
    for target in targets or [INFRA]:
        files += bicep_files(target) if target.is_dir() else [target]
    if not files:
        print("parse: no .bicep files found")
        return False
    problems = bicep_parse.check_files(files)
    for problem in problems:
        print(f"{_relative(problem.path)}:{problem.line}:{problem.column}: {problem.parser}: {problem.message}")
    print(f"parse: {len(files)} file(s), {len(problems)} problem(s)")
    return not problems


def _targets(targets: list[Path]) -> list[Path]:
    files: list[Path] = []
    for target in targets or [INFRA]:
        files += bicep_files(target) if target.is_dir() else [target]
    return files


def check_types(targets: list[Path]) -> bool:
    files = _targets(targets)
    problems = bicep_types.check_files(files) + [
        p for file in files for p in bicep_modules.check_file(file) + bicep_reads.check_file(file)]
    for problem in problems:
        print(f"{_relative(problem.path)}:{problem.line}:{problem.column}: bicep-types: {problem.message}")
    source = bicep_types.load_types()["source"]
    print(f"types: {len(files)} file(s), {len(problems)} problem(s) (Azure/bicep-types-az {source['commit'][:12]})")
    return not problems


def sync_types(git_dir: Path) -> None:
    data = bicep_types_sync.extract(git_dir, bicep_types.used_types(bicep_files()))
    bicep_types.TYPES_JSON.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {_relative(bicep_types.TYPES_JSON)}: {len(data['resources'])} resource types "
          f"from Azure/bicep-types-az {data['source']['commit']}")


def _generated() -> dict[Path, str]:
    """Files derived from others, with the content they must have."""
    return {app_settings.REBOOTER_DEFAULTS_JSON: app_settings.render_rebooter_defaults()}


def check_settings() -> bool:
    ok = True
    for path, expected in _generated().items():
        if not path.exists() or path.read_text(encoding="utf-8") != expected:
            print(f"{_relative(path)}: out of date; run: python infra/check.py sync")
            ok = False
    host_json = app_settings.HOST_JSON
    for backend in app_settings.BACKENDS:
        note = "" if host_json.exists() else f" ({_relative(host_json)} missing: its references not checked)"
        comparison = app_settings.compare_backend(backend)
        if comparison.missing:
            print(f"settings[{backend}]: read by the app but not set by the Bicep: {', '.join(sorted(comparison.missing))}")
        if comparison.unread:
            print(f"settings[{backend}]: set by the Bicep but read by nothing: {', '.join(sorted(comparison.unread))}")
        effective = app_settings.host_json_with_overrides(app_settings.bicep_settings(backend)) if host_json.exists() else {}
        if host_json.exists() and app_settings.host_json_backend(effective) != backend:
            print(f"settings[{backend}]: host.json with the Bicep's AzureFunctionsJobHost__* settings configures "
                  f"{app_settings.host_json_backend(effective)}, not {backend}")
            ok = False
        print(f"settings[{backend}]: {'ok' if comparison.ok else 'MISMATCH'}{note}")
        ok = ok and comparison.ok
    return ok


def check_checkov(directory: Path) -> bool:
    try:
        report = checkov_scan.run_checkov(directory)
    except checkov_scan.CheckovUnavailable as exc:
        print(f"checkov: {exc}")
        return False
    for error in report.parsing_errors:
        print(f"checkov parsing error: {error}")
    for finding in report.failed:
        print(f"FAILED  {finding}")
    for finding in report.skipped:
        print(f"skipped {finding}")
    print(report.summary())
    return report.ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", default="all",
                        choices=["all", "parse", "types", "types-sync", "settings", "checkov", "sync", "setup-checkov",
                                 "package"])
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders (parse, checkov); the zip (package)")
    args = parser.parse_args(argv)

    if args.command == "sync":
        for path, content in _generated().items():
            path.write_text(content, encoding="utf-8")
            print(f"wrote {_relative(path)}")
        return 0
    if args.command == "package":
        if len(args.paths) != 1:
            parser.error("package needs the path of the zip to write")
        names = package.build_zip(args.paths[0])
        print(f"wrote {args.paths[0]}: {len(names)} files")
        return 0
    if args.command == "types-sync":
        if len(args.paths) != 1:
            parser.error("types-sync needs the bicep-types-az git directory")
        sync_types(args.paths[0])
        return 0
    if args.command == "setup-checkov":
        print(f"checkov: {checkov_scan.setup_checkov()}")
        return 0

    results = []
    if args.command in ("all", "parse"):
        results.append(check_parse(args.paths))
    if args.command in ("all", "types"):
        results.append(check_types(args.paths))
    if args.command in ("all", "settings"):
        results.append(check_settings())
    if args.command in ("all", "checkov"):
        results.append(check_checkov(args.paths[0] if args.paths else INFRA))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
