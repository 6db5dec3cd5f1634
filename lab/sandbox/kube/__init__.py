"""A Kubernetes API server emulator: an in-memory store (store.py) served over HTTPS (server.py).

Usage::

    store = Store()                                   # default, kube-system, ... namespaces exist
    server = KubeApiServer(store, ssl_context, token="t")
    url = server.start()                              # own asyncio loop in a daemon thread
    config = kubeconfig(url, ca_pem, "t")             # for kubectl and the kubernetes client
    ...
    server.stop()

Modules: kinds (the served resources), store (+ deletion, observers, disruption, scheduling: the API rules),
selectors, patching, fields / validation (what a real server accepts), server (+ routing,
handlers, watch, discovery, openapi, tables: the wire).
"""

from .errors import ApiError
from .scheduling import Scheduler, ThreadScheduler
from .server import FaultAction, KubeApiServer, kubeconfig
from .store import Store, WatchEvent

__all__ = ["ApiError", "FaultAction", "KubeApiServer", "Scheduler", "Store", "ThreadScheduler", "WatchEvent",
           "kubeconfig"]
