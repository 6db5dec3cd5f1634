"""The Function App: wiring only. Follow the names to find any behaviour.

- starters/        what the timer and HTTP functions do (cycles, commands, clusters)
- orchestrators/   patch_cycle (one cluster), patch_node (one node)
- activities/      ARM, run-command and Kubernetes work, each idempotent
- entities/        the cluster lock and progress, as pure reducers
- rebooter/        the domain: settings, names, planning, drain rules, probe, clients
"""

import azure.durable_functions as df
import azure.functions as func

import activities
import entities
import orchestrators
from starters import clusters, commands, cycles, openapi, views

cycles.check_settings_at_startup()

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(orchestrators.bp)
app.register_functions(activities.bp)
app.register_functions(entities.bp)


@app.timer_trigger(schedule="%REBOOTER_SCHEDULE%", arg_name="timer", run_on_startup=False)
@app.durable_client_input(client_name="client")
async def scheduled_patch_cycles(timer: func.TimerRequest, client) -> None:
    await cycles.timer_start(client)


@app.route(route="patch-cycles", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_patch_cycle(req: func.HttpRequest, client) -> func.HttpResponse:
    return await cycles.http_start(req, client)


# The admin (master) key route: per-cycle overrides may loosen safety here. The route is the
# boundary because a Python function cannot tell which key matched. Not under /api/admin...:
# the host refuses routes that start with "admin" (Azure/azure-functions-host#1781).
@app.route(route="patch-cycles/unrestricted", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
@app.durable_client_input(client_name="client")
async def start_patch_cycle_unrestricted(req: func.HttpRequest, client) -> func.HttpResponse:
    return await cycles.http_start(req, client, admin=True)


@app.route(route="patch-cycles", methods=["GET"])
@app.durable_client_input(client_name="client")
async def list_patch_cycles(req: func.HttpRequest, client) -> func.HttpResponse:
    return await cycles.http_list(req, client)


@app.route(route="patch-cycles/{instanceId}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def get_patch_cycle(req: func.HttpRequest, client) -> func.HttpResponse:
    return await cycles.http_status(req, client)


@app.route(route="patch-cycles/{instanceId}/{action}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def command_patch_cycle(req: func.HttpRequest, client) -> func.HttpResponse:
    return await commands.http_command(req, client)


# Admin key: terminate a cycle and its running patch_node instances (Durable does not terminate
# sub-orchestrations with their parent). The literal segment wins over {action} in the host's
# ASP.NET Core routing (literal segments take precedence over parameters).
@app.route(route="patch-cycles/{instanceId}/terminate", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
@app.durable_client_input(client_name="client")
async def terminate_patch_cycle(req: func.HttpRequest, client) -> func.HttpResponse:
    return await commands.http_terminate(req, client)


@app.route(route="patch-cycles/{instanceId}/timeline", methods=["GET"])
@app.durable_client_input(client_name="client")
async def get_patch_cycle_timeline(req: func.HttpRequest, client) -> func.HttpResponse:
    return await views.http_timeline(req, client)


@app.route(route="clusters", methods=["GET"])
@app.durable_client_input(client_name="client")
async def list_clusters(req: func.HttpRequest, client) -> func.HttpResponse:
    return await views.http_clusters(req, client)


@app.route(route="clusters/{cluster}/lock", methods=["GET"])
@app.durable_client_input(client_name="client")
async def get_cluster_lock(req: func.HttpRequest, client) -> func.HttpResponse:
    return await clusters.http_lock(req, client)


@app.route(route="clusters/{cluster}/lock/break", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
@app.durable_client_input(client_name="client")
async def break_cluster_lock(req: func.HttpRequest, client) -> func.HttpResponse:
    return await clusters.http_break_lock(req, client)


@app.route(route="clusters/{cluster}/progress", methods=["GET"])
@app.durable_client_input(client_name="client")
async def get_cluster_progress(req: func.HttpRequest, client) -> func.HttpResponse:
    return await clusters.http_progress(req, client)


@app.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def get_openapi(req: func.HttpRequest) -> func.HttpResponse:
    return openapi.http_document(req)
