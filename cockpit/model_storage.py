"""Where KServe fetches a registered MLflow model from: the version's artifact URI, resolved to
storage the cluster can reach, or a clear refusal.

MLflow hands out a version's download URI (`get_model_version_download_uri`, which resolves the
version's `models:/` or `runs:/` source to the artifact location). KServe's storage initializer
fetches from S3 (s3://), Google Cloud Storage (gs://), Azure Blob and plain HTTP(S) URIs (https://,
http://), PVCs (pvc://), Hugging Face (hf://) and OCI model images (oci://) - the providers listed
in KServe's "Storage Options for Model Artifacts" page
(https://kserve.github.io/website/docs/model-serving/storage/overview, 0.16). An `mlflow-artifacts:`
URI is the tracking server's artifact proxy, which KServe does not speak: it maps onto the server's
`--artifacts-destination` when the cockpit is told what that is. A local path or file:// URI lives
on the machine that logged the model, out of the cluster's reach. Credentials: KServe reads the
storage secret attached to the predictor's service account (cockpit.kubernetes.inference.service_account).

The one exception is the lab (`local_predictor=True`): there the predictor is a KServe ModelServer
process on the cockpit host itself (cockpit/lab/kserve_lab.py), which reads local artifacts, so the
storageUri names them as file:// (a scheme KServe's storage initializer also copies from).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

# Schemes the KServe storage initializer downloads from.
KSERVE_SCHEMES = ("s3", "gs", "pvc", "https", "http", "hf", "oci")


class UnreachableArtifacts(ValueError):
    """The model's artifacts are somewhere KServe cannot fetch them from."""


def local_artifact_dir(download_uri: str) -> Path | None:
    """The directory of artifacts that live on this host (a plain path or a file:// URI), else None."""
    uri = download_uri.strip()
    parsed = urlparse(uri)
    scheme = parsed.scheme.lower()
    if scheme == "file":
        return Path(unquote(parsed.path))
    if scheme == "" or (len(scheme) == 1 and uri[1:3] in (":\\", ":/")):
        return Path(uri)
    return None


def kserve_storage_uri(download_uri: str, *, artifacts_destination: str | None = None,
                       local_predictor: bool = False) -> str:
    """The storageUri for an InferenceService serving the artifacts at `download_uri`
    (`local_predictor`: the lab, where the predictor runs on this host and reads local files)."""
    uri = download_uri.strip()
    parsed = urlparse(uri)
    scheme = parsed.scheme.lower()
    local = local_artifact_dir(uri)
    if local_predictor and local is not None:
        return local.resolve().as_uri()
    if scheme in KSERVE_SCHEMES:
        return uri
    if scheme == "mlflow-artifacts":
        if not artifacts_destination:
            raise UnreachableArtifacts(
                f"the model's artifacts are served by the MLflow server's artifact proxy ({uri}), which KServe "
                "cannot fetch from: set cockpit.kubernetes.inference.artifacts_destination to the server's "
                "--artifacts-destination (s3://..., gs://... or pvc://...)")
        dest = artifacts_destination.rstrip("/")
        dest_scheme = urlparse(dest).scheme.lower()
        if dest_scheme not in KSERVE_SCHEMES:
            raise UnreachableArtifacts(
                f"cockpit.kubernetes.inference.artifacts_destination {artifacts_destination!r} is not storage KServe "
                f"fetches from (use one of {', '.join(s + '://' for s in KSERVE_SCHEMES)})")
        return f"{dest}/{parsed.path.lstrip('/')}"
    if scheme in ("models", "runs"):
        raise UnreachableArtifacts(f"{uri} is an MLflow reference, not storage: resolve it through MLflow first")
    if scheme in ("", "file") or (len(scheme) == 1 and uri[1:3] in (":\\", ":/")):
        path = parsed.path if scheme == "file" else uri
        raise UnreachableArtifacts(
            f"the model's artifacts live only on the cockpit host ({path}): KServe in the cluster cannot fetch "
            "them. Log models to storage the cluster reaches (an MLflow server with --artifacts-destination "
            "s3://... on MinIO, gs://..., or a PVC) and register the version again")
    raise UnreachableArtifacts(f"{uri}: KServe cannot fetch from {scheme}:// "
                               f"(it fetches {', '.join(s + '://' for s in KSERVE_SCHEMES)})")
