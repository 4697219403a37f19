"""Image classification data: MNIST IDX files from a directory, or scikit-learn's bundled digits.

Nothing is downloaded: MNIST comes from a path (a BeeGFS mount on the cluster), digits ships
inside scikit-learn (1797 8x8 images).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workloads.common.device import WorkloadError
from workloads.common.idx import IdxError, read_idx

# Accepted spellings of the four MNIST files (the original names, and the dot variant some mirrors use).
MNIST_FILES = {
    "train_images": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "train_labels": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "test_images": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "test_labels": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}


@dataclass(frozen=True)
class ImageData:
    name: str
    source: str
    train_x: np.ndarray  # float32, N x 1 x H x W, pixels scaled to [0, 1] (the model normalizes)
    train_y: np.ndarray  # int64
    test_x: np.ndarray
    test_y: np.ndarray
    num_classes: int
    mean: float  # of the training pixels, for the model's built-in normalization
    std: float

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train_x.shape[1:])  # type: ignore[return-value]


def _find(directory: Path, names: tuple[str, ...]) -> Path | None:
    for name in names:
        for candidate in (directory / name, directory / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    return None


def _scale(train: np.ndarray, test: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray, float, float]:
    # Raw [0, 1] pixels in, normalization inside the model: a served model takes plain pixels.
    train = (train.astype(np.float32) / scale)[:, None]
    test = (test.astype(np.float32) / scale)[:, None]
    return train, test, float(train.mean()), float(train.std()) or 1.0


def load_mnist(directory: Path, limit_train: int | None = None, limit_test: int | None = None) -> ImageData:
    directory = Path(directory)
    if not directory.is_dir():
        raise WorkloadError(f"--data {directory}: not a directory")
    paths = {key: _find(directory, names) for key, names in MNIST_FILES.items()}
    missing = [MNIST_FILES[k][0] for k, p in paths.items() if p is None]
    if missing:
        raise WorkloadError(f"--data {directory}: missing MNIST IDX files {', '.join(missing)} (optionally .gz)")
    try:
        arrays = {key: read_idx(path) for key, path in paths.items()}  # type: ignore[arg-type]
    except IdxError as exc:
        raise WorkloadError(f"--data {directory}: {exc}") from None
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise WorkloadError(
                f"--data {directory}: {split} images {images.shape} and labels {labels.shape} do not match"
            )
    train_x, test_x, mean, std = _scale(arrays["train_images"][:limit_train], arrays["test_images"][:limit_test], 255.0)
    train_y = arrays["train_labels"][:limit_train].astype(np.int64)
    test_y = arrays["test_labels"][:limit_test].astype(np.int64)
    return ImageData("mnist", str(directory), train_x, train_y, test_x, test_y, 10, mean, std)


def load_digits_data(seed: int, test_fraction: float = 0.2) -> ImageData:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    images, labels = bunch.images, bunch.target.astype(np.int64)
    tr_x, te_x, tr_y, te_y = train_test_split(
        images, labels, test_size=test_fraction, random_state=seed, stratify=labels
    )
    train_x, test_x, mean, std = _scale(tr_x, te_x, 16.0)
    return ImageData("digits", "sklearn.datasets.load_digits", train_x, tr_y, test_x, te_y, 10, mean, std)


def load_image_data(data: str | None, seed: int, limit_train: int | None = None, limit_test: int | None = None) -> ImageData:
    if data:
        return load_mnist(Path(data), limit_train, limit_test)
    return load_digits_data(seed)
