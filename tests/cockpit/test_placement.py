"""Placement decisions on plain data (no libvirt): sharing sentences, start refusals through an
IOMMU group, assignment of a whole group."""

from __future__ import annotations

from backends.gpus.nodedevs import PciDevice
from backends.libvirt.domains import Hostdev
from cockpit.placement import ConfigClaim, DomainClaim, check_assignment, shared_config_sentence, start_problems


def dev(address: str, group: int, members: tuple[str, ...], cls: str = "030200", driver: str = "vfio-pci") -> PciDevice:
    return PciDevice(address, "10de", "2331", cls, "GPU", driver, group, members, 0)


GROUP = ("0000:41:00.0", "0000:42:00.0")
DEVICES = [dev("0000:41:00.0", 30, GROUP), dev("0000:42:00.0", 30, GROUP)]


def test_sharing_sentences() -> None:
    both_auto = shared_config_sentence("a", [ConfigClaim("hpc", "x", "a", True), ConfigClaim("cloud", "y", "a", True)])
    assert "2 of them start automatically (x, y)" in both_auto and "set auto_start: false" in both_auto
    none_auto = shared_config_sentence("a", [ConfigClaim("hpc", "x", "a", False), ConfigClaim("cloud", "y", "a", False)])
    assert "None starts on its own" in none_auto
    assert shared_config_sentence("a", [ConfigClaim("hpc", "x", "a", True)]) is None


def test_start_refused_through_iommu_group() -> None:
    domains = [DomainClaim("runner", True, (Hostdev("0000:42:00.0"),)), DomainClaim("me", False, (Hostdev("0000:41:00.0"),))]
    problems = start_problems("me", ["0000:41:00.0"], domains, DEVICES)
    assert problems == ["0000:41:00.0 shares IOMMU group 30 with 0000:42:00.0, held by running VM runner"]
    assert start_problems("me", ["0000:41:00.0"], domains[1:], DEVICES) == []


def test_whole_group_assignment() -> None:
    domains = [DomainClaim("me", False, ())]
    refused = check_assignment("me", "0000:41:00.0", DEVICES, domains)
    assert not refused.ok and "pass whole_group=true" in refused.errors[0]
    whole = check_assignment("me", "0000:41:00.0", DEVICES, domains, whole_group=True)
    assert whole.ok and whole.addresses == GROUP


def test_share_with_stopped_vm_is_a_warning_only_when_asked() -> None:
    domains = [DomainClaim("other", False, (Hostdev("0000:81:00.0"),)), DomainClaim("me", False, ())]
    lone = [dev("0000:81:00.0", 50, ("0000:81:00.0",))]
    assert not check_assignment("me", "0000:81:00.0", lone, domains).ok
    shared = check_assignment("me", "0000:81:00.0", lone, domains, share=True)
    assert shared.ok and "also assigned to other" in shared.warnings[0]
