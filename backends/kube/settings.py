"""The `cockpit.kubernetes` settings of the kubernetes source (validated with the rest of the config)."""

from __future__ import annotations

from pydantic import Field

from cockpit.source_types import Settings


class InferenceSettings(Settings):
    """How kube.isvc.deploy hands a registered MLflow model to KServe."""

    # The MLflow server's --artifacts-destination (s3://bucket/path, gs://..., pvc://name/path):
    # mlflow-artifacts: URIs of registered versions map onto it; unset, such versions are refused.
    artifacts_destination: str | None = None
    # The predictor's serviceAccountName: KServe reads the storage credentials (the S3/GCS secret
    # attached to this service account) through it.
    service_account: str | None = Field(default=None, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


class KubeSettings(Settings):
    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None  # None: all namespaces
    inference: InferenceSettings = Field(default_factory=InferenceSettings)
