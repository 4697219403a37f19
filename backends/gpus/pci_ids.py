"""Names for PCI ids: a small built-in table of NVIDIA data-centre and workstation GPUs (sysfs has
no names), then the system's pci.ids database when one is installed (hwdata / pciutils)."""

from __future__ import annotations

import functools
from pathlib import Path

NVIDIA = "10de"

# device id -> name, as pci.ids spells them (chip [marketing name]).
NVIDIA_GPUS: dict[str, str] = {
    "2330": "GH100 [H100 SXM5 80GB]",
    "2331": "GH100 [H100 PCIe]",
    "2335": "GH100 [H200 SXM 141GB]",
    "2339": "GH100 [H100 SXM5 94GB]",
    "233a": "GH100 [H800 NVL]",
    "2321": "GH100 [H100 NVL]",
    "20b0": "GA100 [A100 SXM4 40GB]",
    "20b2": "GA100 [A100 SXM4 80GB]",
    "20b5": "GA100 [A100 PCIe 80GB]",
    "20f1": "GA100 [A100 PCIe 40GB]",
    "20b7": "GA100GL [A30 PCIe]",
    "2236": "GA102GL [A10]",
    "2230": "GA102GL [RTX A6000]",
    "2231": "GA102GL [RTX A5000]",
    "26b1": "AD102GL [RTX 6000 Ada Generation]",
    "26b5": "AD102GL [L40]",
    "26b9": "AD102GL [L40S]",
    "27b8": "AD104GL [L4]",
    "2684": "AD102 [GeForce RTX 4090]",
    "2704": "AD103 [GeForce RTX 4080]",
    "2782": "AD104 [GeForce RTX 4070 Ti]",
    "2786": "AD104 [GeForce RTX 4070]",
    "2803": "AD106 [GeForce RTX 4060 Ti]",
    "2805": "AD106 [GeForce RTX 4060 Ti 16GB]",
    "2204": "GA102 [GeForce RTX 3090]",
    "2206": "GA102 [GeForce RTX 3080]",
    "2484": "GA104 [GeForce RTX 3070]",
    "2503": "GA106 [GeForce RTX 3060]",
    "2504": "GA106 [GeForce RTX 3060 Lite Hash Rate]",
    "1e30": "TU102GL [Quadro RTX 6000/8000]",
    "1e36": "TU102GL [Quadro RTX 6000]",
    "1eb8": "TU104GL [Tesla T4]",
    "1db4": "GV100GL [Tesla V100 PCIe 16GB]",
    "1db5": "GV100GL [Tesla V100 SXM2 16GB]",
    "1db6": "GV100GL [Tesla V100 PCIe 32GB]",
    "2b85": "GB202 [GeForce RTX 5090]",
}

CLASS_NAMES = {"0300": "VGA controller", "0302": "3D controller", "0403": "HD Audio controller",
               "0200": "Ethernet controller", "0207": "InfiniBand controller"}
VENDOR_NAMES = {"10de": "NVIDIA", "1002": "AMD", "8086": "Intel", "15b3": "Mellanox", "1af4": "Red Hat (virtio)"}

PCI_IDS_PATHS = ("/usr/share/hwdata/pci.ids", "/usr/share/misc/pci.ids", "/usr/share/pci.ids")


@functools.lru_cache(maxsize=1)
def _pci_ids() -> dict[tuple[str, str], str]:
    for path in PCI_IDS_PATHS:
        p = Path(path)
        if not p.is_file():
            continue
        table: dict[tuple[str, str], str] = {}
        vendor = None
        for line in p.read_text(errors="replace").splitlines():
            if not line or line.startswith("#") or line.startswith("C "):
                if line.startswith("C "):
                    break  # device classes follow the vendor list
                continue
            if not line.startswith("\t"):
                vendor = line[:4].lower()
            elif vendor and not line.startswith("\t\t"):
                table[(vendor, line[1:5].lower())] = line[5:].strip()
        return table
    return {}


def product_name(vendor_id: str, device_id: str, class_code: str = "") -> str | None:
    vendor_id, device_id = vendor_id.lower(), device_id.lower()
    if vendor_id == NVIDIA and device_id in NVIDIA_GPUS:
        return NVIDIA_GPUS[device_id]
    known = _pci_ids().get((vendor_id, device_id))
    if known:
        return known
    kind = CLASS_NAMES.get(class_code[:4])
    if kind:
        return f"{VENDOR_NAMES.get(vendor_id, vendor_id)} {kind} {device_id}"
    return None
