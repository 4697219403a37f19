"""Is this host ready for PCIe passthrough? Each failed check carries the exact fix.

`root` is `/` on a real host; tests point it at a fixture tree holding proc/cmdline,
sys/kernel/iommu_groups, sys/module and dev/kvm.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "fix": self.fix}


GRUB_FIX = ("add 'intel_iommu=on iommu=pt' (Intel) or 'amd_iommu=on iommu=pt' (AMD) to GRUB_CMDLINE_LINUX_DEFAULT "
            "in /etc/default/grub, run 'sudo update-grub' and reboot")


def check_iommu(root: Path) -> Check:
    try:
        cmdline = (root / "proc" / "cmdline").read_text()
    except OSError:
        cmdline = ""
    flags = [f for f in cmdline.split() if f.startswith(("intel_iommu=", "amd_iommu=", "iommu="))]
    groups_dir = root / "sys" / "kernel" / "iommu_groups"
    groups = len(list(groups_dir.iterdir())) if groups_dir.is_dir() else 0
    if groups:
        return Check("iommu", True, f"{groups} IOMMU groups" + (f" ({' '.join(flags)})" if flags else ""))
    if any(f in ("intel_iommu=on", "amd_iommu=on") for f in flags):
        return Check("iommu", False, f"kernel command line has {' '.join(flags)} but no IOMMU groups exist",
                     "enable VT-d (Intel) or AMD-Vi/IOMMU in the firmware (BIOS/UEFI) setup, then reboot")
    return Check("iommu", False, "IOMMU is off: no IOMMU groups and no intel_iommu=on/amd_iommu=on on the kernel command line",
                 GRUB_FIX)


def check_vfio(root: Path) -> Check:
    sys = root / "sys"
    loaded = [m for m in ("vfio", "vfio_pci", "vfio_iommu_type1") if (sys / "module" / m).exists()]
    bound_driver = (sys / "bus" / "pci" / "drivers" / "vfio-pci").exists()
    if "vfio_pci" in loaded or bound_driver:
        return Check("vfio", True, "vfio-pci driver available (" + ", ".join(loaded or ["built in"]) + ")")
    return Check("vfio", False, "vfio-pci is not loaded" + (f" (loaded: {', '.join(loaded)})" if loaded else ""),
                 "sudo modprobe vfio-pci && echo vfio-pci | sudo tee /etc/modules-load.d/vfio-pci.conf")


def check_kvm(root: Path) -> Check:
    kvm = root / "dev" / "kvm"
    if not kvm.exists():
        return Check("kvm", False, "/dev/kvm does not exist",
                     "enable VT-x/AMD-V in the firmware setup, then 'sudo modprobe kvm_intel' (or kvm_amd)")
    if str(root) == "/" and not os.access(kvm, os.R_OK | os.W_OK):
        return Check("kvm", False, "/dev/kvm exists but this user cannot open it",
                     "sudo usermod -aG kvm $USER, then log in again")
    return Check("kvm", True, "/dev/kvm present")


def host_readiness(root: str | os.PathLike[str] = "/") -> list[Check]:
    base = Path(root)
    return [check_iommu(base), check_vfio(base), check_kvm(base)]
