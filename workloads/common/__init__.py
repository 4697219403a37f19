"""Helpers shared by the workload programs: tags, MLflow logging, metrics.json, devices, data."""
