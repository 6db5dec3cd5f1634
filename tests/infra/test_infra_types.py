"""Every resource body in every .bicep file matches Azure's own type definitions.

The definitions come from Azure/bicep-types-az (infra/checks/types/README.md names the commit);
infra/checks/bicep_types.py walks the bodies. A broken copy of a template must fail with its
file and line.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from infra.checks import INFRA, ROOT, bicep_files, bicep_modules, bicep_reads, bicep_types

CHECK = [sys.executable, str(INFRA / "check.py")]


def test_every_resource_body_matches_its_type_definition():
    problems = bicep_types.check_files(bicep_files())
    assert problems == [], "\n".join(map(str, problems))


def test_the_definitions_are_exactly_the_types_the_templates_use_and_small():
    data = bicep_types.load_types()
    used = {t.lower() for t in bicep_types.used_types(bicep_files())}
    assert {t.lower() for t in data["resources"]} == used
    assert data["source"]["repository"] == "Azure/bicep-types-az"
    commit = data["source"]["commit"]
    assert len(commit) == 40 and commit in (bicep_types.TYPES_JSON.parent / "README.md").read_text()
    assert bicep_types.TYPES_JSON.stat().st_size < 3_000_000
    for entry in data["resources"].values():
        assert entry["file"].startswith("generated/") and entry["file"].endswith("/types.json")


def _broken_copy(tmp_path: Path, relative: str, old: str, new: str) -> tuple[Path, int]:
    text = (INFRA / relative).read_text()
    assert text.count(old) == 1, old
    broken = text.replace(old, new)
    line = broken[: broken.index(new)].count("\n") + 1 + new[: len(new) - len(new.lstrip("\n"))].count("\n")
    path = tmp_path / Path(relative).name
    path.write_text(broken)
    return path, line


@pytest.mark.parametrize(
    ("relative", "old", "new", "message"),
    [
        ("core/storage.bicep", "allowBlobPublicAccess: false", "allowBlobPublicAcess: false",
         "property 'allowBlobPublicAcess' does not exist on StorageAccountPropertiesCreateParametersOrStorageAccountProperties; "
         "did you mean 'allowBlobPublicAccess'?"),
        ("app/function-app.bicep", "instanceMemoryMB: instanceMemoryMB", "instanceMemoryMb: instanceMemoryMB",
         "did you mean 'instanceMemoryMB'?"),
        ("core/storage.bicep", "minimumTlsVersion: 'TLS1_2'", "minimumTlsVersion: 'TLS1_9'", '"TLS1_9" is not allowed'),
        ("core/storage.bicep", "supportsHttpsTrafficOnly: true", "supportsHttpsTrafficOnly: 'yes'",
         '"yes" is not allowed; expected bool'),
        ("core/network.bicep", "serviceName: 'Microsoft.App/environments'", "serviceNme: 'Microsoft.App/environments'",
         "subnets[].properties.delegations[].properties.serviceNme"),
        ("core/identity.bicep", "userAssignedIdentities@2023-01-31", "userAssignedIdentities@2023-01-32",
         "Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-32: no such resource type and API version"),
    ],
    ids=["misspelt-property", "wrong-casing", "enum-value", "wrong-kind", "nested-in-arrays", "api-version"],
)
def test_a_broken_copy_fails_naming_file_and_line(tmp_path, relative, old, new, message):
    path, line = _broken_copy(tmp_path, relative, old, new)
    done = subprocess.run([*CHECK, "types", str(path)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{path}:{line}:" in done.stdout and message in done.stdout, done.stdout


def test_a_read_only_property_or_a_missing_required_one_is_reported(tmp_path):
    path, line = _broken_copy(tmp_path, "app/function-app.bicep", "    httpsOnly: true\n",
                              "    httpsOnly: true\n    defaultHostName: 'x'\n")
    problems = [str(p) for p in bicep_types.check_file(path)]
    assert problems == [f"{path}:{line + 1}:5: bicep-types: properties.defaultHostName: read-only property"]
    path, _ = _broken_copy(tmp_path, "core/storage.bicep", "  kind: 'StorageV2'\n", "")
    assert any("required property 'kind' is missing" in str(p) for p in bicep_types.check_file(path))


def test_allowed_values_of_a_parameter_are_checked_against_the_enum(tmp_path):
    path = tmp_path / "scheduler.bicep"
    path.write_text("@allowed([\n  'Dedicated'\n  'Consumptio'\n])\nparam skuName string\n"
                    "resource s 'Microsoft.DurableTask/schedulers@2025-11-01' = {\n  name: 'dts'\n  location: 'x'\n"
                    "  properties: {\n    ipAllowlist: []\n    sku: {\n      name: skuName\n    }\n  }\n}\n")
    problems = [str(p) for p in bicep_types.check_file(path)]
    assert problems == [f'{path}:3:3: bicep-types: properties.sku.name: parameter skuName allows "Consumptio", which '
                        'is not allowed; expected "Dedicated" | "Consumption" | string'], problems


def test_module_params_match_the_called_files_parameters(tmp_path):
    assert [p for f in bicep_files() for p in bicep_modules.check_file(f)] == []
    text = (INFRA / "main.bicep").read_text()
    for directory in ("core", "app"):
        (tmp_path / directory).mkdir()
        for module in (INFRA / directory).glob("*.bicep"):
            (tmp_path / directory / module.name).write_text(module.read_text())
    (tmp_path / "abbreviations.json").write_text((INFRA / "abbreviations.json").read_text())
    old = "    natGatewayId: (vnetEnabled"
    assert text.count(old) == 1
    broken = text.replace(old, "    natGatewayID: (vnetEnabled")
    (tmp_path / "main.bicep").write_text(broken)
    line = broken[: broken.index("natGatewayID")].count("\n") + 1
    done = subprocess.run([*CHECK, "types", str(tmp_path / "main.bicep")], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert done.returncode == 1
    assert (f"{tmp_path / 'main.bicep'}:{line}:5: bicep-types: module network: network.bicep has no parameter "
            "'natGatewayID'; did you mean 'natGatewayId'?") in done.stdout, done.stdout


def test_property_and_output_reads_exist(tmp_path):
    assert [p for f in bicep_files() for p in bicep_reads.check_file(f)] == []
    path, line = _broken_copy(tmp_path, "core/durable-task-scheduler.bicep", "taskHub.properties.dashboardUrl",
                              "taskHub.properties.dashboardURL")
    assert [str(p) for p in bicep_reads.check_file(path)] == [
        f"{path}:{line}:30: bicep-types: properties.dashboardURL: property 'dashboardURL' does not exist when reading "
        "Microsoft.DurableTask/schedulers/taskHubs; did you mean 'dashboardUrl'?"]
    for directory in ("core", "app"):
        (tmp_path / directory).mkdir(exist_ok=True)
        for module in (INFRA / directory).glob("*.bicep"):
            (tmp_path / directory / module.name).write_text(module.read_text())
    main, line = _broken_copy(tmp_path, "main.bicep", "natGateway.outputs.ipAddress", "natGateway.outputs.ipAdress")
    problems = [str(p) for p in bicep_reads.check_file(main)]
    assert len(problems) == 1 and problems[0].startswith(f"{main}:{line}:") and (
        "natGateway.outputs.ipAdress: nat-gateway.bicep has no output 'ipAdress'; did you mean 'ipAddress'?") in problems[0]
