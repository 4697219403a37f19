"""Test-driver host files from a compact layout: GPUs (with optional HDMI audio function, IOMMU
groups that may span several GPUs, host drivers) and VMs holding devices. Used by the hand-written
lab below and by the property tests that throw other layouts at the snapshot."""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape


@dataclass
class Fn:
    address: str  # 0000:41:00.0
    class_code: str = "0x030200"
    vendor: str = "0x10de"
    device: str = "0x2331"
    product: str = "GH100 [H100 PCIe]"
    driver: str | None = "vfio-pci"
    group: int = 0
    numa: int | None = 0


@dataclass
class Vm:
    name: str
    running: bool = True
    hostdevs: list[str] = field(default_factory=list)
    managed: bool = True
    vcpus: int = 2
    memory_mib: int = 2048


def _addr(address: str) -> str:
    domain, bus, rest = address.split(":")
    slot, function = rest.split(".")
    return f"<address domain='0x{domain}' bus='0x{bus}' slot='0x{slot}' function='0x{function}'/>"


def render(functions: list[Fn], vms: list[Vm]) -> str:
    groups: dict[int, list[str]] = {}
    for f in functions:
        groups.setdefault(f.group, []).append(f.address)
    out = ["<?xml version='1.0'?>", "<node>",
           "<cpu><mhz>3000</mhz><model>x86_64</model><active>32</active><nodes>2</nodes><sockets>2</sockets>"
           "<cores>8</cores><threads>2</threads></cpu>", "<memory>268435456</memory>",
           "<device><name>computer</name><capability type='system'><hardware><vendor>Lab</vendor><version>1</version>"
           "<serial>T</serial><uuid>e4c5a1f0-0000-4000-8000-0000000000aa</uuid></hardware><firmware><vendor>B</vendor>"
           "<version>1</version><release_date>01/01/2026</release_date></firmware></capability></device>"]
    for f in functions:
        domain, bus, rest = f.address.split(":")
        slot, function = rest.split(".")
        name = "pci_" + f.address.replace(":", "_").replace(".", "_")
        members = "".join(_addr(a) for a in sorted(groups[f.group]))
        out.append(
            f"<device><name>{name}</name><parent>computer</parent>"
            + (f"<driver><name>{f.driver}</name></driver>" if f.driver else "")
            + f"<capability type='pci'><class>{f.class_code}</class><domain>{int(domain, 16)}</domain>"
            f"<bus>{int(bus, 16)}</bus><slot>{int(slot, 16)}</slot><function>{int(function, 16)}</function>"
            f"<product id='{f.device}'>{escape(f.product)}</product><vendor id='{f.vendor}'>Vendor</vendor>"
            f"<iommuGroup number='{f.group}'>{members}</iommuGroup>"
            + (f"<numa node='{f.numa}'/>" if f.numa is not None else "")
            + "</capability></device>")
    out.append("<network><name>default</name><uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid><bridge name='virbr0'/>"
               "<forward/><ip address='192.168.122.1' netmask='255.255.255.0'><dhcp><range start='192.168.122.2' "
               "end='192.168.122.254'/></dhcp></ip></network>")
    for vm in vms:
        hostdevs = "".join(
            f"<hostdev mode='subsystem' type='pci' managed='{'yes' if vm.managed else 'no'}'><source>{_addr(a)}</source></hostdev>"
            for a in vm.hostdevs)
        out.append(
            "<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>"
            f"<name>{vm.name}</name><uuid>{uuidlib.uuid5(uuidlib.NAMESPACE_DNS, vm.name)}</uuid>"
            f"<memory unit='MiB'>{vm.memory_mib}</memory><vcpu>{vm.vcpus}</vcpu><os><type arch='x86_64'>hvm</type></os>"
            f"<devices>{hostdevs}</devices>" + ("" if vm.running else "<test:runstate>5</test:runstate>") + "</domain>")
    out.append("</node>")
    return "\n".join(out)


def write(path: Path, functions: list[Fn], vms: list[Vm]) -> str:
    path.write_text(render(functions, vms))
    return f"test://{path}"


def gpu_with_audio(bus: str, device: str, product: str, group: int, driver: str = "vfio-pci",
                   audio_device: str = "0x22bd", numa: int | None = 0) -> list[Fn]:
    return [Fn(f"0000:{bus}:00.0", "0x030000", "0x10de", device, product, driver, group, numa),
            Fn(f"0000:{bus}:00.1", "0x040300", "0x10de", audio_device, "HD Audio Controller",
               "snd_hda_intel" if driver == "nvidia" else driver, group, numa)]


def lab_functions() -> list[Fn]:
    """The hand-written lab: the sample config's two consumer GPUs with audio, two H100s behind
    one PCIe switch sharing IOMMU group 30 (with the switch port, a bridge), an A100 left on the
    host's nvidia driver, and a NIC."""
    return [
        *gpu_with_audio("01", "0x2805", "AD106 [GeForce RTX 4060 Ti 16GB]", 1),
        *gpu_with_audio("07", "0x2504", "GA106 [GeForce RTX 3060 Lite Hash Rate]", 7, audio_device="0x228e"),
        Fn("0000:40:01.0", "0x060400", "0x10b5", "0x8747", "PEX 8747 switch port", "pcieport", 30),
        Fn("0000:41:00.0", "0x030200", "0x10de", "0x2331", "GH100 [H100 PCIe]", "nvidia", 30, 1),
        Fn("0000:42:00.0", "0x030200", "0x10de", "0x2331", "GH100 [H100 PCIe]", "vfio-pci", 30, 1),
        Fn("0000:81:00.0", "0x030200", "0x10de", "0x20b5", "GA100 [A100 PCIe 80GB]", "nvidia", 50, 1),
        Fn("0000:18:00.0", "0x020000", "0x15b3", "0x101b", "MT28908 Family [ConnectX-6]", "mlx5_core", 20),
    ]


def conflict_vms() -> list[Vm]:
    """VMs that exercise every conflict: one GPU in two running VMs, a split IOMMU group, a
    managed='no' device still on the host driver, plus a quiet VM."""
    return [
        Vm("train-a", True, ["0000:01:00.0", "0000:01:00.1"]),
        Vm("train-b", True, ["0000:01:00.0", "0000:01:00.1"]),
        Vm("split-vm", False, ["0000:42:00.0"]),
        Vm("host-driver-vm", False, ["0000:81:00.0"], managed=False),
        Vm("idle", True, []),
    ]
