"""Client factories: ARM and Kubernetes clients for a cluster, built from app settings.

Activities call these; orchestrators never do. Kubernetes access is derived from the
cluster's own credentials through ARM (Entra ID token on AAD clusters, the admin
kubeconfig on local-account clusters), so the sandbox is reached by the same code path
as a real cluster: its kubeconfig carries its CA.
"""
