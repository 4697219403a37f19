"""kserve_storage_uri: the artifact URIs MLflow hands out, mapped to what KServe fetches, or refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.model_storage import UnreachableArtifacts, kserve_storage_uri, local_artifact_dir


@pytest.mark.parametrize("uri", ["s3://mlflow/1/abc/artifacts/model", "gs://bucket/m", "pvc://models-pvc/iris",
                                 "https://models.example/iris.tar.gz"])
def test_storage_kserve_fetches_passes_unchanged(uri):
    assert kserve_storage_uri(uri) == uri


@pytest.mark.parametrize("uri", ["mlflow-artifacts:/1/abc/artifacts/model",
                                 "mlflow-artifacts://mlflow.mlops:5000/1/abc/artifacts/model"])
def test_proxied_artifacts_map_onto_the_destination(uri):
    assert kserve_storage_uri(uri, artifacts_destination="s3://mlflow/artifacts/") == \
        "s3://mlflow/artifacts/1/abc/artifacts/model"
    with pytest.raises(UnreachableArtifacts, match="artifact proxy.*artifacts_destination"):
        kserve_storage_uri(uri)
    with pytest.raises(UnreachableArtifacts, match="not storage KServe fetches"):
        kserve_storage_uri(uri, artifacts_destination="/srv/mlflow")


@pytest.mark.parametrize("uri", ["/home/me/mlruns/0/abc/artifacts/model", "file:///home/me/mlruns/0/abc/artifacts/model",
                                 "mlruns/0/abc/artifacts/model"])
def test_artifacts_on_the_cockpit_host_are_refused(uri):
    with pytest.raises(UnreachableArtifacts, match="live only on the cockpit host"):
        kserve_storage_uri(uri, artifacts_destination="s3://mlflow")


def test_references_and_unknown_schemes_are_refused():
    with pytest.raises(UnreachableArtifacts, match="MLflow reference"):
        kserve_storage_uri("models:/iris/3")
    with pytest.raises(UnreachableArtifacts, match="ftp://"):
        kserve_storage_uri("ftp://host/model")


@pytest.mark.parametrize("uri", ["/home/me/mlruns/0/abc/artifacts/model", "file:///home/me/mlruns/0/abc/artifacts/model"])
def test_the_labs_local_predictor_gets_local_artifacts_as_file_uris(uri):
    assert kserve_storage_uri(uri, local_predictor=True) == "file:///home/me/mlruns/0/abc/artifacts/model"
    assert local_artifact_dir(uri) == Path("/home/me/mlruns/0/abc/artifacts/model")
    # storage KServe fetches stays what it is; references are still refused
    assert kserve_storage_uri("s3://mlflow/1/m", local_predictor=True) == "s3://mlflow/1/m"
    assert local_artifact_dir("s3://mlflow/1/m") is None
    with pytest.raises(UnreachableArtifacts, match="MLflow reference"):
        kserve_storage_uri("models:/iris/3", local_predictor=True)
