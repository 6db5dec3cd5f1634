"""AKS and ARM: cluster description, run-command probe, the clients and credentials."""
