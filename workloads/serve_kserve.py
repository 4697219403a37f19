"""A KServe model server for the classifier MLflow registers (MLOPS-4.1/4.2 and 5.1 on the lab).

    .venv-kserve/bin/python -m workloads.serve_kserve --model_dir DIR --model_name mnist \
        --http_port 8080 --enable_grpc false

Runs the real `kserve` package's ModelServer (pinned in scripts/setup.sh, in its own virtualenv
.venv-kserve: kserve 0.21 needs pandas < 3 and protobuf < 7, which the project's venv is past)
with one `kserve.Model`: the MLflow pytorch-flavour model in DIR (the artifact directory of a
registered version, as KServe's storage initializer leaves it in /mnt/models), the `model.pt2`
archive that workloads/train_classifier.py logs through `mlflow.pytorch.log_model` (torch.export
format; a pickled `model.pth` is refused, since unpickling runs whatever the file says). It
answers protocol v1 (`POST /v1/models/NAME:predict`, {"instances": ...} -> {"predictions": ...})
and v2, the Open Inference Protocol (`POST /v2/models/NAME/infer`), with the scores per class.
Every other argument is KServe's own (`kserve.model_server.parser`: --http_port, --workers, ...).

Only the standard library is imported at module level, so the project's venv (and its tests) can
read the helpers; kserve and torch are imported where the server starts.
Exit status: 0 stopped, 2 bad input (no model there, an MLmodel without the pytorch flavour).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

class ModelDirError(ValueError):
    """DIR does not hold a model this server can load (the message says what is missing)."""


@dataclass(frozen=True)
class TorchArtifacts:
    """What the MLmodel file of an MLflow pytorch-flavour model says about it."""

    model_dir: Path
    archive: Path                      # data/model.pt2
    pytorch_version: str | None
    input_shape: list[int] | None      # from the signature, -1 for "any" (the batch)


def _signature_shape(mlmodel: dict[str, Any]) -> list[int] | None:
    inputs = ((mlmodel.get("signature") or {}).get("inputs"))
    if not inputs:
        return None
    specs = json.loads(inputs) if isinstance(inputs, str) else inputs
    if len(specs) != 1 or specs[0].get("type") != "tensor":
        return None
    shape = (specs[0].get("tensor-spec") or {}).get("shape")
    return [int(d) for d in shape] if isinstance(shape, list) else None


def read_artifacts(model_dir: Path, mlmodel: dict[str, Any]) -> TorchArtifacts:
    """The pt2 archive the MLmodel document (already parsed) points at, checked to be there."""
    flavor = (mlmodel.get("flavors") or {}).get("pytorch")
    if not isinstance(flavor, dict):
        known = ", ".join(mlmodel.get("flavors") or {}) or "none"
        raise ModelDirError(f"{model_dir}/MLmodel: no pytorch flavour (flavours: {known}); this server loads "
                            "models logged with mlflow.pytorch.log_model")
    data = model_dir / str(flavor.get("model_data") or "data")
    archive = data / "model.pt2"
    if not archive.is_file():
        if (data / "model.pth").is_file():
            raise ModelDirError(f"{data}/model.pth is a pickled model, which this server refuses to load "
                                "(unpickling runs arbitrary code): log it with serialization_format='pt2'")
        raise ModelDirError(f"{archive}: no such file (the MLmodel's pytorch flavour names {data})")
    return TorchArtifacts(model_dir, archive, flavor.get("pytorch_version"), _signature_shape(mlmodel))


def check_shape(shape: Sequence[int], expected: Sequence[int] | None) -> None:
    """Refuse an input the model's signature does not accept, naming both shapes."""
    if expected is None:
        return
    if len(shape) != len(expected) or any(e != -1 and e != s for s, e in zip(shape, expected)):
        raise ValueError(f"input of shape {list(shape)}; the model's signature takes {list(expected)} "
                         "(-1: any size)")


def build_parser(kserve_parser: Any) -> Any:
    import argparse

    p = argparse.ArgumentParser(prog="python -m workloads.serve_kserve", parents=[kserve_parser],
                                description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model_dir", required=True, type=Path,
                   help="the MLflow model directory (MLmodel, data/model.pt2)")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    return p


def make_model(name: str, model_dir: Path, threads: int = 1) -> Any:
    """A kserve.Model serving the MLflow pytorch model in `model_dir` (loaded by .load())."""
    import kserve
    import numpy as np
    import torch
    import yaml
    from kserve.errors import InvalidInput
    from kserve.utils.utils import get_predict_input, get_predict_response

    class MlflowTorchModel(kserve.Model):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(name)
            self.model_dir = Path(model_dir)
            self.artifacts: TorchArtifacts | None = None
            self._module: Any = None

        def load(self) -> bool:
            mlmodel_path = self.model_dir / "MLmodel"
            if not mlmodel_path.is_file():
                raise ModelDirError(f"{mlmodel_path}: no such file (not an MLflow model directory)")
            self.artifacts = read_artifacts(self.model_dir, yaml.safe_load(mlmodel_path.read_text()) or {})
            torch.set_num_threads(max(1, threads))
            self._module = torch.export.load(str(self.artifacts.archive)).module()
            self.ready = True
            return self.ready

        def predict(self, payload: Any, headers: dict[str, str] | None = None) -> Any:
            try:
                x = np.asarray(get_predict_input(payload), dtype=np.float32)
            except (KeyError, ValueError, TypeError) as exc:
                raise InvalidInput(f"cannot read the input as FP32 numbers: {exc}") from None
            try:
                check_shape(x.shape, self.artifacts.input_shape if self.artifacts else None)
            except ValueError as exc:
                raise InvalidInput(str(exc)) from None
            with torch.no_grad():
                scores = self._module(torch.from_numpy(x)).numpy()
            return get_predict_response(payload, scores, self.name)

    return MlflowTorchModel()


def main(argv: Sequence[str] | None = None) -> int:
    try:
        import kserve
        from kserve import model_server
    except ImportError as exc:
        print(f"serve_kserve: error: the kserve package is not importable by {sys.executable} ({exc}); run it with "
              ".venv-kserve/bin/python (SETUP_KSERVE=1 bash scripts/setup.sh makes it)", file=sys.stderr)
        return 2
    args = build_parser(model_server.parser).parse_args(argv)
    model = make_model(args.model_name, args.model_dir, args.threads)
    try:
        model.load()
    except ModelDirError as exc:
        print(f"serve_kserve: error: {exc}", file=sys.stderr)
        return 2
    from importlib.metadata import version

    print(f"serve_kserve: kserve {version('kserve')} serving {args.model_name} from {args.model_dir} on port {args.http_port}", flush=True)
    kserve.ModelServer(http_port=args.http_port, grpc_port=args.grpc_port, workers=args.workers,
                       enable_grpc=args.enable_grpc).start([model])
    return 0


if __name__ == "__main__":
    sys.exit(main())
