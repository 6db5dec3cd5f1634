"""Proof under faults: seeded random patch cycles against the sandbox, with invariant checks.

A seed becomes a small random cluster with one or two injected faults (``generate``); the
runner (``run``) starts a whole cycle through the app's HTTP API on the local durable engine,
misbehaving around it as the faults say, and checks the recorded sandbox timeline and the
cycle's output against the safety invariants (``checks``). ``python -m lab.faultrun run --seed N``
reproduces one run; ``python -m lab.faultrun soak --runs 200 --seed 1`` runs many and prints a table.
"""
