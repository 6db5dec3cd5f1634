"""Schema validation of stored objects with the official client's own models.

kubernetes 37 deserialises every response into pydantic models that reject a missing required
field (a NodeSystemInfo without ``machineID``, a container without ``name``, ...). A real API
server never returns such an object, so the store refuses to hold one: a write that the
product's client could not read back is a 422 Invalid here, at the write, instead of a
confusing client-side failure later.
"""

from __future__ import annotations

import pydantic
from kubernetes.client import models

from .errors import invalid

MODELS = {
    "namespaces": models.V1Namespace,
    "nodes": models.V1Node,
    "pods": models.V1Pod,
    "events": models.CoreV1Event,
    "poddisruptionbudgets": models.V1PodDisruptionBudget,
    "daemonsets": models.V1DaemonSet,
    "replicasets": models.V1ReplicaSet,
    "statefulsets": models.V1StatefulSet,
    "deployments": models.V1Deployment,
}


def validate(kind: str, obj: dict) -> None:
    """Raise ApiError 422 if the client model for kind cannot parse obj."""
    model = MODELS.get(kind)
    if model is None:
        return
    try:
        model.from_dict(obj)
    except pydantic.ValidationError as err:
        name = (obj.get("metadata") or {}).get("name", "")
        causes = []
        for e in err.errors()[:10]:
            field = f"{err.title}." + ".".join(str(p) for p in e["loc"])
            message = "Required value" if e.get("input") is None else f"Invalid value: {e['input']!r}: {e['msg']}"
            causes.append((field, message))
        raise invalid(kind, name, causes) from None
    except (TypeError, ValueError) as err:
        raise invalid(kind, (obj.get("metadata") or {}).get("name", ""), [("", str(err))]) from None
