"""Reader and writer for the IDX format the MNIST files use (http://yann.lecun.com/exdb/mnist/).

Layout: magic = 0x00 0x00 <dtype code> <ndim>, then ndim big-endian uint32 sizes, then the data
in C order, big-endian. `.gz` files are read transparently.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
CODES = {v.newbyteorder(">").str: k for k, v in DTYPES.items()}


class IdxError(ValueError):
    pass


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def read_idx(path: Path) -> np.ndarray:
    path = Path(path)
    with _open(path) as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise IdxError(f"{path}: not an IDX file (bad magic {raw[:4].hex() or 'empty'})")
    code, ndim = raw[2], raw[3]
    if code not in DTYPES:
        raise IdxError(f"{path}: unknown IDX data type 0x{code:02x}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IdxError(f"{path}: truncated header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise IdxError(f"{path}: header says shape {shape} ({expected} bytes) but file has {len(raw) - header}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Write `array` as IDX (used by tests and to convert data sets); .gz suffix compresses."""
    path = Path(path)
    arr = np.ascontiguousarray(array)
    big = arr.dtype.newbyteorder(">") if arr.dtype.itemsize > 1 else arr.dtype
    code = CODES.get(np.dtype(big).newbyteorder(">").str)
    if code is None:
        raise IdxError(f"{path}: dtype {arr.dtype} has no IDX code")
    payload = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.astype(big).tobytes()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as fh:
        fh.write(payload)
    return path
