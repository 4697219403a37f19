"""Domain/network/volume/pool XML from the jinja2 templates: valid against libvirt's own RNG
schemas (virt-xml-validate) and accepted by the test driver."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
import xml.etree.ElementTree as ET

import libvirt
import pytest

from backends.libvirt.xmlgen import (DiskSpec, DomainSpec, HostdevSpec, InterfaceSpec, NetworkSpec, PoolSpec,
                                     VirtioFsSpec, VolumeSpec, render_domain, render_network, render_pool, render_volume)

FULL = DomainSpec(
    name="gpu-node-01", memory_mib=16384, vcpus=8, domain_type="kvm", cpu_topology=(1, 8, 1),
    cpu_features=(("require", "avx2"),), hugepages=True, cpu_pins=tuple((i, str(i + 2)) for i in range(8)),
    disks=(DiskSpec("/var/lib/libvirt/images/gpu-node-01.qcow2"),),
    interfaces=(InterfaceSpec("hpc-net", "52:54:00:12:34:56"),),
    virtiofs=(VirtioFsSpec("datasets", "/data/sets", readonly=True),),
    hostdevs=(HostdevSpec("0000:41:00.0", rom_bar=True), HostdevSpec("0000:41:00.1")),
)


def validate(tmp_path, xml: str, kind: str) -> None:
    if shutil.which("virt-xml-validate") is None or shutil.which("xmllint") is None:
        pytest.skip("virt-xml-validate (libvirt-clients) and xmllint (libxml2-utils) are needed")
    path = tmp_path / f"{kind}.xml"
    path.write_text(xml)
    proc = subprocess.run(["virt-xml-validate", str(path), kind], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr + proc.stdout + xml


def test_domain_has_passthrough_features(tmp_path) -> None:
    xml = render_domain(FULL)
    validate(tmp_path, xml, "domain")
    root = ET.fromstring(xml)
    assert root.find("os/type").get("machine") == "q35"
    assert root.find("cpu").get("mode") == "host-passthrough"
    hostdevs = root.findall("devices/hostdev")
    assert [h.get("managed") for h in hostdevs] == ["yes", "yes"]
    assert hostdevs[0].find("rom").get("bar") == "on" and hostdevs[1].find("rom") is None
    assert root.find("memoryBacking/hugepages/page").get("size") == "2048"
    assert root.find("memoryBacking/access").get("mode") == "shared"  # virtiofs needs shared memory
    assert len(root.findall("cputune/vcpupin")) == 8
    assert root.find("devices/filesystem/driver").get("type") == "virtiofs"


def test_tcg_domain_without_cpu_mode_and_direct_boot(tmp_path) -> None:
    xml = render_domain(DomainSpec(name="tiny", memory_mib=256, vcpus=1, domain_type="qemu", cpu_mode=None,
                                   kernel="/boot/vmlinuz", initrd="/boot/initrd", cmdline="console=ttyS0",
                                   serial_log="/tmp/s.log", balloon=False))
    validate(tmp_path, xml, "domain")
    root = ET.fromstring(xml)
    assert root.find("cpu") is None and root.findtext("os/kernel") == "/boot/vmlinuz"


def test_names_are_escaped() -> None:
    xml = render_domain(DomainSpec(name="a<b>&c", memory_mib=64, vcpus=1, description="x' y\"z"))
    assert ET.fromstring(xml).findtext("name") == "a<b>&c"


def test_network_volume_pool_validate(tmp_path) -> None:
    net = NetworkSpec("hpc-net", "virbr100", ipaddress.IPv4Network("192.168.100.0/24"), "192.168.100.1",
                      "192.168.100.128", "192.168.100.254", (("52:54:00:00:00:11", "hpc-compute-01", "192.168.100.11"),))
    validate(tmp_path, render_network(net), "network")
    host = ET.fromstring(render_network(net)).find("ip/dhcp/host")
    assert host.get("ip") == "192.168.100.11" and host.get("mac") == "52:54:00:00:00:11"
    validate(tmp_path, render_volume(VolumeSpec("a.qcow2", 20 << 30, "/images/base.qcow2")), "storagevol")
    validate(tmp_path, render_pool(PoolSpec("cockpit", "/var/lib/libvirt/images/cockpit")), "storagepool")


def test_test_driver_accepts_rendered_domain(clean_lab_uri: str) -> None:
    conn = libvirt.open(clean_lab_uri)
    try:
        dom = conn.defineXML(render_domain(FULL.__class__(**{**FULL.__dict__, "domain_type": "test"})))
        live = ET.fromstring(dom.XMLDesc())
        assert len(live.findall("devices/hostdev")) == 2
    finally:
        conn.close()
