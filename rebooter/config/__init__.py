"""Configuration: the settings registry, names and resource IDs, request validation, log lines."""
