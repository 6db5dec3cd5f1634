"""The sandbox Kubernetes API fixtures (tests/helpers/kube.py) for these tests."""

from tests.helpers.kube import kube, sandbox_certs  # noqa: F401  (pytest fixtures)
