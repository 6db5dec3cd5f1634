"""Kubernetes node operations: cordon, drain and eviction, reboot, health, marks, node facts."""
