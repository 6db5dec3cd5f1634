"""Proof under faults: seeded fault-injection runs with invariant checks (faultrun), on the local
engine against the sandbox and through azure-functions-durable's own replay."""
