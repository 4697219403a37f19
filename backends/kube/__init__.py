"""Kubernetes adapter: kubeconfig + contexts, list-then-watch informers, CRD discovery."""
