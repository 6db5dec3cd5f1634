"""The azd layout, the parameters file, module references, roles and the package contents."""

from __future__ import annotations

import ast
import json
import re

import pytest
import yaml

from infra.checks import INFRA, ROOT, bicep_files, package
from infra.checks.bicep_parse import tree_sitter_tree

MAIN = INFRA / "main.bicep"

# Built-in roles the templates assign, by id (a typo in a GUID would assign nothing or the wrong role).
BUILT_IN_ROLES = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
    "0ad04412-c4d5-4796-b79c-f76d14c8d402": "Durable Task Data Contributor",
    "d6a5505f-6ebb-45a4-896e-ac8274cfc0ac": "Durable Task Data Reader",
    "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b": "Azure Kubernetes Service RBAC Cluster Admin",
    "9980e02c-c2be-4d73-94e8-173b1dc7cf3c": "Virtual Machine Contributor",
    "b0d8363b-8ddd-447d-831f-62ca05bff136": "Monitoring Data Reader",
}
GUID = re.compile(r"'([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})'")


def declarations(path, kind: str) -> dict[str, object]:
    """Top-level ``kind`` declarations (parameter, module, ...) of a Bicep file, by name."""
    found = {}
    for node in tree_sitter_tree(path.read_bytes()).root_node.named_children:
        if node.type == f"{kind}_declaration":
            named = [child for child in node.named_children if child.type not in ("decorators", "decorator")]
            found[named[0].text.decode()] = node
    return found


def test_azure_yaml_deploys_the_repository_root_as_a_python_function_app():
    config = yaml.safe_load((ROOT / "azure.yaml").read_text())
    assert config["services"] == {"api": {"project": ".", "language": "python", "host": "function"}}
    assert config["infra"]["path"] == "infra" and config["infra"]["module"] == "main"
    assert "azd-service-name': 'api'" in (INFRA / "app" / "function-app.bicep").read_text()


def test_parameters_file_names_only_real_parameters_and_fills_the_required_ones():
    params = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    declared = declarations(MAIN, "parameter")
    assert set(params) <= set(declared)
    required = {name for name, node in declared.items() if "=" not in node.text.decode().split("\n")[-1]}
    assert required <= set(params), required - set(params)
    text = json.dumps(params)
    for variable in ("${AZURE_ENV_NAME}", "${AZURE_LOCATION}", "${AZURE_PRINCIPAL_ID}"):
        assert variable in text


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: p.relative_to(INFRA).as_posix())
def test_referenced_modules_and_files_exist(path):
    text = path.read_text()
    for reference in re.findall(r"^module \w+ '([^']+)'", text, re.M) + re.findall(r"load\w+Content\('([^']+)'", text):
        assert (path.parent / reference).is_file(), f"{path.name} refers to missing {reference}"
    if "abbrs." in text:
        abbreviations = json.loads((INFRA / "abbreviations.json").read_text())
        assert set(re.findall(r"abbrs\.(\w+)", text)) <= set(abbreviations)


def test_role_ids_are_the_intended_built_in_roles():
    used = set()
    for path in bicep_files():
        used |= {guid for guid in GUID.findall(path.read_text())}
    assert used == set(BUILT_IN_ROLES), used ^ set(BUILT_IN_ROLES)


def test_package_holds_the_app_and_nothing_else():
    deployed = {path.relative_to(ROOT).as_posix() for path in package.deployed_files()}
    for needed in ("function_app.py", "host.json", "requirements.txt", "rebooter/config/settings.py"):
        assert needed in deployed
    kept_out = ("lab/", "tests/", "docs/", "infra/", ".ci/", ".venv/", ".git/")
    assert not [path for path in deployed if path.startswith(kept_out) or "__pycache__" in path]
    assert not {"Makefile", "requirements-dev.txt", "requirements-infra.txt"} & deployed
    for rule in (".venv/", "lab/", "tests/", "docs/", "infra/", ".ci/",
                 "Makefile", "requirements-dev.txt", ".git", "__pycache__/", ".pytest_cache/", ".ruff_cache/"):
        assert rule in package.rules()


def test_deployed_code_imports_nothing_that_is_not_deployed():
    deployed = package.deployed_files()
    local_modules = {path.stem if path.is_file() else path.name for path in ROOT.iterdir()
                     if (path.is_dir() and any(path.glob("*.py"))) or path.suffix == ".py"}
    shipped = {path.relative_to(ROOT).parts[0].removesuffix(".py") for path in deployed}
    for path in deployed:
        if path.suffix != ".py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
            for name in names:
                top = name.split(".")[0]
                assert top not in local_modules or top in shipped, f"{path.relative_to(ROOT)} imports {name}"


def test_package_zip_holds_the_deployed_files(tmp_path):
    import zipfile

    target = tmp_path / "app.zip"
    names = package.build_zip(target)
    with zipfile.ZipFile(target) as archive:
        assert sorted(archive.namelist()) == sorted(names)
    assert "function_app.py" in names and "host.json" in names
    assert not [name for name in names if name.startswith(("tests/", "infra/", "lab/"))]


def test_function_app_imports_from_the_package_alone(tmp_path):
    """Unpack the package as Azure would run it and import function_app there: nothing from the
    lab or the tests may be needed (or even importable) for the app to load."""
    import subprocess
    import sys
    import zipfile

    target = tmp_path / "app.zip"
    package.build_zip(target)
    app_dir = tmp_path / "wwwroot"
    zipfile.ZipFile(target).extractall(app_dir)
    probe = ("import sys, function_app; "
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'lab', 'tests', 'infra'}))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=app_dir, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(app_dir)}, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert not (app_dir / "lab").exists()


def test_funcignore_rules_match_like_gitignore():
    rules = [".venv/", "*.pyc", "Makefile", "/run/", "docs/"]
    assert package.is_excluded("a/b/c.pyc", False, rules)
    assert package.is_excluded("docs/deploy.md", False, rules)
    assert package.is_excluded("run/x", False, rules)
    assert not package.is_excluded("rebooter/run.py", False, rules)
    assert not package.is_excluded("docs", False, rules)  # a file named docs is not the folder
    with pytest.raises(ValueError):
        package.rules("!keep.txt\n")


def test_local_settings_example_is_valid_and_names_only_known_settings():
    """`cp local.settings.example.json local.settings.json && func start` with the Durable Task
    Scheduler emulator and Azurite: no secrets, only settings the host, the backend or the app read."""
    from infra.checks import app_settings
    from rebooter.config import settings

    example = json.loads((ROOT / "local.settings.example.json").read_text())
    assert example["IsEncrypted"] is False and set(example) == {"IsEncrypted", "Values"}
    values = example["Values"]
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert values["AzureWebJobsStorage"] == "UseDevelopmentStorage=true"
    assert values["DURABLE_TASK_SCHEDULER_CONNECTION_STRING"] == (
        "Endpoint=http://localhost:8080;TaskHub=default;Authentication=None")
    # the task hub host.json names (%REBOOTER_TASK_HUB%) is the one the connection string opens
    assert values["REBOOTER_TASK_HUB"] == "default"
    host_reads = app_settings.host_json_reads(app_settings.HOST_JSON)
    known = set(settings.SETTINGS) | host_reads | {"FUNCTIONS_WORKER_RUNTIME", "AzureWebJobsStorage"}
    assert set(values) <= known, set(values) - known
    assert all(isinstance(value, str) for value in values.values())
    assert not [v for v in values.values() if re.search(r"(?i)(accountkey|sharedaccesssignature|password|sig=)", v)]
    settings.load({name: value for name, value in values.items() if name.startswith("REBOOTER_")})
    # the example is neither deployed nor in the way of the real local.settings.json
    assert package.is_excluded("local.settings.json", False, package.rules())
    assert package.is_excluded("local.settings.example.json", False, package.rules())
    assert "local.settings.json" in (ROOT / ".gitignore").read_text().splitlines()


def test_deploy_doc_counts_the_functions_function_app_indexes():
    import json
    import subprocess
    import sys

    text = (ROOT / "docs" / "deploy.md").read_text()
    stated = re.search(r"indexes: (\d+) \((\d+) HTTP, (\d+) timer, (\d+) orchestrators, (\d+) entities, (\d+) activities", text)
    assert stated, "docs/deploy.md should say how many functions are indexed"
    # A fresh interpreter: get_functions() may be called only once per app object, and another test
    # of this session may already have called it.
    probe = ("import json, function_app; print(json.dumps([next(b.type for b in f.get_bindings() "
             "if b.type.endswith('Trigger')) for f in function_app.app.get_functions()]))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    triggers = json.loads(done.stdout.strip().splitlines()[-1])
    counts = [len(triggers)] + [triggers.count(kind) for kind in
                                ("httpTrigger", "timerTrigger", "orchestrationTrigger", "entityTrigger", "activityTrigger")]
    assert [int(n) for n in stated.groups()] == counts


def test_role_names_are_deterministic_so_a_rerun_after_replication_delay_is_idempotent():
    """A custom role can be unknown for a moment after creation; the documented remedy is to run
    `azd provision` again, which only works if every role resource keeps its name across runs."""
    for path in bicep_files():
        text = path.read_text()
        assert "newGuid(" not in text and "utcNow(" not in text, path
        for match in re.finditer(r"'Microsoft\.Authorization/role(Assignments|Definitions)@[^']+' = [^{]*\{\n\s*name: (\S+)", text):
            assert match.group(2).startswith("guid(") or match.group(2) == "roleDefinitionName", (path, match.group(0))
    access = (INFRA / "app" / "aks-cluster-access.bicep").read_text()
    assert "var roleDefinitionName = guid(cluster.id, principalId, 'aks-rebooter')" in access
    assignment = access[access.index("resource rebooterRoleAssignment"):]
    assert "dependsOn: [\n    rebooterRole\n  ]" in assignment[: assignment.index("properties:")]
