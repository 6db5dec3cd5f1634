"""The app settings the code reads are exactly the app settings the Bicep writes (names)."""

from __future__ import annotations

import ast
import json
import shutil

import pytest

from infra.checks import INFRA, app_settings
from rebooter.config.settings import SETTINGS

HOST_JSON = app_settings.HOST_JSON
needs_host_json = pytest.mark.skipif(not HOST_JSON.exists(), reason="host.json not written yet")


def test_rebooter_defaults_file_is_generated_from_the_registry():
    expected = app_settings.render_rebooter_defaults()
    assert app_settings.REBOOTER_DEFAULTS_JSON.read_text() == expected, "run: python infra/check.py sync"
    assert list(json.loads(expected)) == list(SETTINGS)


@pytest.mark.parametrize("backend", app_settings.BACKENDS)
def test_bicep_sets_every_rebooter_setting_and_no_other(backend):
    written = {name for name in app_settings.bicep_writes(backend) if name.startswith("REBOOTER_")}
    assert written == set(SETTINGS)


@pytest.mark.parametrize("backend", app_settings.BACKENDS)
def test_settings_read_by_the_app_equal_settings_written_by_the_bicep(backend):
    if backend == "durableTaskScheduler" and not HOST_JSON.exists():
        pytest.skip("host.json not written yet")
    comparison = app_settings.compare_backend(backend)
    assert comparison.missing == frozenset(), f"read by the app, not set by infra/app/function-app.bicep ({backend})"
    assert comparison.unread == frozenset(), f"set by infra/app/function-app.bicep, read by nothing ({backend})"


@needs_host_json
def test_repository_host_json_configures_the_default_backend():
    assert app_settings.host_json_backend(HOST_JSON) == "durableTaskScheduler"
    reads = app_settings.host_json_reads(HOST_JSON)
    assert "DURABLE_TASK_SCHEDULER_CONNECTION_STRING" in reads
    assert reads & set(SETTINGS), "hubName should come from a REBOOTER_* setting"
    # Quiet the Durable Task Framework's own logs, as Microsoft's Durable Task Scheduler samples do.
    assert json.loads(HOST_JSON.read_text())["logging"]["logLevel"]["DurableTask.Core"] == "Warning"


PROVIDER = "AzureFunctionsJobHost__extensions__durableTask__storageProvider__"


@needs_host_json
@pytest.mark.parametrize(
    ("backend", "provider", "connection"),
    [("durableTaskScheduler", "azureManaged", "DURABLE_TASK_SCHEDULER_CONNECTION_STRING"),
     ("azureStorage", "AzureStorage", "AzureWebJobsStorage")],
)
def test_the_bicep_chooses_the_durable_provider_through_app_settings(backend, provider, connection):
    """One host.json: each backend's app settings override its storageProvider (no file to copy)."""
    settings = app_settings.bicep_settings(backend)
    assert settings[PROVIDER + "type"] == provider
    effective = app_settings.host_json_with_overrides(settings)
    assert app_settings.host_json_backend(effective) == backend
    stored = effective["extensions"]["durableTask"]["storageProvider"]
    assert {value for key, value in stored.items() if key.startswith("connection")} == {connection}
    written = set(settings)
    assert connection in written or any(name.startswith(connection + "__") for name in written)
    # the rest of host.json is untouched
    original = json.loads(HOST_JSON.read_text())
    effective["extensions"]["durableTask"].pop("storageProvider")
    original["extensions"]["durableTask"].pop("storageProvider")
    assert effective == original
    assert not (app_settings.INFRA / "host.azure-storage.json").exists()


def test_overrides_follow_the_host_json_path_ignoring_case(tmp_path):
    host = tmp_path / "host.json"
    host.write_text(json.dumps({"extensions": {"durableTask": {"storageProvider": {"type": "azureManaged"}}}}))
    data = app_settings.host_json_with_overrides(
        {PROVIDER + "Type": "AzureStorage", "AzureFunctionsJobHost__functionTimeout": "00:10:00", "OTHER": "x"}, host)
    assert data == {"extensions": {"durableTask": {"storageProvider": {"type": "AzureStorage"}}},
                    "functionTimeout": "00:10:00"}


def test_each_backend_gets_only_its_own_settings():
    scheduler = app_settings.bicep_writes("durableTaskScheduler")
    storage = app_settings.bicep_writes("azureStorage")
    assert "DURABLE_TASK_SCHEDULER_CONNECTION_STRING" in scheduler
    assert scheduler - storage == {"DURABLE_TASK_SCHEDULER_CONNECTION_STRING"}
    assert storage - scheduler == {PROVIDER + "connectionName"}
    assert {"AzureWebJobsStorage__accountName", "AzureWebJobsStorage__credential", "AzureWebJobsStorage__clientId",
            "APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "AZURE_CLIENT_ID"} <= storage
    assert not any("ConnectionString" in name or name.endswith("__connectionString") for name in storage), storage


def test_a_setting_missing_from_the_bicep_is_caught(tmp_path):
    bicep = (INFRA / "app" / "function-app.bicep").read_text()
    (tmp_path / "function-app.bicep").write_text(bicep)
    defaults = json.loads(app_settings.REBOOTER_DEFAULTS_JSON.read_text())
    # a setting only the generated defaults provide (not also set from a deployment parameter)
    dropped = next(name for name in reversed(defaults) if f"  {name}:" not in bicep)
    del defaults[dropped]
    (tmp_path / "rebooter-settings.json").write_text(json.dumps(defaults))
    written = app_settings.bicep_writes("azureStorage", tmp_path / "function-app.bicep")
    comparison = app_settings.compare(app_settings.code_reads("azureStorage"), written, "azureStorage")
    assert comparison.missing == {dropped}


def test_a_setting_nothing_reads_is_caught(tmp_path):
    bicep = (INFRA / "app" / "function-app.bicep").read_text()
    bicep = bicep.replace("  AZURE_CLIENT_ID: identityClientId\n", "  AZURE_CLIENT_ID: identityClientId\n  STALE_SETTING: 'x'\n")
    (tmp_path / "function-app.bicep").write_text(bicep)
    shutil.copy(app_settings.REBOOTER_DEFAULTS_JSON, tmp_path)
    written = app_settings.bicep_writes("azureStorage", tmp_path / "function-app.bicep")
    comparison = app_settings.compare(app_settings.code_reads("azureStorage"), written, "azureStorage")
    assert comparison.unread == {"STALE_SETTING"}


def test_python_scan_finds_every_way_the_code_reads_a_setting():
    source = """
import os
from os import environ
a = os.environ["A_SETTING"]
b = os.environ.get("B_SETTING", "")
c = os.getenv("C_SETTING")
d = environ.get("D_SETTING")
@app.timer_trigger(schedule="%E_SETTING%", arg_name="t")
@app.queue_trigger(arg_name="m", queue_name="q", connection="F_CONNECTION")
def f(): pass
not_a_setting = "100%"
"""
    assert app_settings._names_in_python(ast.parse(source)) == {
        "A_SETTING", "B_SETTING", "C_SETTING", "D_SETTING", "E_SETTING", "F_CONNECTION"}


def test_connection_names_are_met_by_identity_based_settings():
    reads = {"AzureWebJobsStorage", "X"}
    comparison = app_settings.compare(reads, {"AzureWebJobsStorage__accountName", "X"}, "azureStorage")
    assert comparison.ok
    assert app_settings.compare(reads, {"X"}, "azureStorage").missing == {"AzureWebJobsStorage"}


def test_the_evaluator_refuses_what_it_cannot_follow(tmp_path):
    bicep = tmp_path / "app.bicep"
    bicep.write_text("resource s 'Microsoft.Web/sites/config@2024-04-01' = {\n"
                     "  name: 'appsettings'\n  properties: json(loadTextContent('x.json'))\n}\n")
    with pytest.raises(app_settings.BicepEvaluationError):
        app_settings.bicep_writes("azureStorage", bicep)
