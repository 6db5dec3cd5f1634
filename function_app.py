"""The Function App: wiring only. Follow the names to find any behaviour.

- starters/        what the timer and HTTP functions do
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
import starters

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(orchestrators.bp)
app.register_functions(activities.bp)
app.register_functions(entities.bp)


@app.timer_trigger(schedule="%REBOOTER_SCHEDULE%", arg_name="timer", run_on_startup=False)
@app.durable_client_input(client_name="client")
async def scheduled_patch_cycles(timer: func.TimerRequest, client) -> None:
    await starters.timer_start(client)


@app.route(route="patch-cycles", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_patch_cycle(req: func.HttpRequest, client) -> func.HttpResponse:
    return await starters.http_start(req, client)


@app.route(route="patch-cycles/{instanceId}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def get_patch_cycle(req: func.HttpRequest, client) -> func.HttpResponse:
    return await starters.http_status(req, client)
