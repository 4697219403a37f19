"""Facts about base images before a cluster is created: does the file exist, how big is the disk
it describes. qcow2's virtual size is in its header (big-endian u64 at offset 24, after the
'QFI\\xfb' magic); a raw image's virtual size is its file size."""

from __future__ import annotations

import os
import struct
from typing import Any

from cockpit.clusters import ImageFacts

QCOW2_MAGIC = b"QFI\xfb"


def local_image_facts(path: str) -> ImageFacts:
    try:
        with open(path, "rb") as f:
            header = f.read(32)
            size = os.fstat(f.fileno()).st_size
    except FileNotFoundError:
        return ImageFacts(exists=False)
    except OSError as exc:
        return ImageFacts(exists=False, error=str(exc))
    if header[:4] == QCOW2_MAGIC and len(header) >= 32:
        (virtual,) = struct.unpack(">Q", header[24:32])
        return ImageFacts(exists=True, virtual_size=virtual, format="qcow2")
    return ImageFacts(exists=True, virtual_size=size, format="raw")


def remote_image_facts(conn: Any, path: str) -> ImageFacts:
    """A remote host's image, found through any storage pool that contains it."""
    import libvirt

    try:
        vol = conn.storageVolLookupByPath(path)
    except libvirt.libvirtError as exc:
        return ImageFacts(exists=False, error=str(exc).splitlines()[0])
    _type, capacity, _allocation = vol.info()
    return ImageFacts(exists=True, virtual_size=capacity)


def image_facts(conn: Any, path: str, local: bool) -> ImageFacts:
    if local:
        return local_image_facts(path)
    return remote_image_facts(conn, path)
