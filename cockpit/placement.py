"""Who holds which PCI device, and what is wrong with that: the decisions behind the GPU table's
conflicts, `vm.start`'s refusal and `gpu.assign`'s checks. Pure functions over plain data, so
they work for any host layout (the demo file is one example, not the rule).

Inputs: the host's PCI devices (backends.gpus.nodedevs.PciDevice), every defined domain with its
<hostdev> list (DomainClaim) and what the cluster config asks for (ConfigClaim).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

# Host drivers that mean "the host is using this device", not "ready for passthrough".
HOST_DRIVERS = frozenset({"nvidia", "nouveau", "nvidia_drm", "snd_hda_intel", "amdgpu", "radeon", "i915", "xe"})
PASSTHROUGH_DRIVERS = frozenset({"vfio-pci", "pci-stub"})


@dataclass(frozen=True)
class DomainClaim:
    vm: str
    running: bool
    hostdevs: tuple[Any, ...]  # backends.libvirt.domains.Hostdev (address, managed, ...)

    @property
    def addresses(self) -> tuple[str, ...]:
        return tuple(h.address for h in self.hostdevs)

    def managed(self, address: str) -> bool:
        return next((h.managed for h in self.hostdevs if h.address == address), True)


@dataclass(frozen=True)
class ConfigClaim:
    cluster: str  # cluster kind (hpc | cloud)
    vm: str
    address: str
    auto_start: bool


def config_claims(config: Any) -> list[ConfigClaim]:
    from cockpit.clusters import config_vms

    return [ConfigClaim(vm.kind, vm.name, dev.pci_address, vm.auto_start)
            for vm in config_vms(config) for dev in vm.devices]


def _is_bridge(dev: Any) -> bool:
    return dev.class_code.startswith("06")  # PCI bridges may stay on the host in a passed group


def holders_by_address(domains: Iterable[DomainClaim]) -> dict[str, list[DomainClaim]]:
    out: dict[str, list[DomainClaim]] = defaultdict(list)
    for dom in domains:
        for address in dict.fromkeys(dom.addresses):
            out[address].append(dom)
    return out


def slot_functions(dev: Any, devices: Sequence[Any]) -> list[Any]:
    """The device itself and its companion functions in the same slot (GPU .0 + audio .1)."""
    return sorted((d for d in devices if d.slot == dev.slot), key=lambda d: d.address)


def shared_config_sentence(address: str, claims: Sequence[ConfigClaim]) -> str | None:
    """One device named by several VMs of the cluster config: say who gets it when."""
    vms = list(dict.fromkeys((c.vm, c.cluster, c.auto_start) for c in claims))
    if len(vms) < 2:
        return None
    auto = [v for v in vms if v[2]]
    manual = [v for v in vms if not v[2]]
    who = ", ".join(f"{vm} ({cluster}{'' if a else ', auto_start: false'})" for vm, cluster, a in vms)
    text = f"{address} is in the config of {len(vms)} VMs: {who}."
    if len(auto) == 1:
        text += f" {auto[0][0]} gets it when its cluster starts"
        if manual:
            text += f"; {', '.join(v[0] for v in manual)} only when started by hand while {auto[0][0]} is off"
        return text + "."
    if not auto:
        return text + " None starts on its own: the first one started by hand gets it, the others are refused while it runs."
    return (text + f" {len(auto)} of them start automatically ({', '.join(v[0] for v in auto)}): the first cluster "
            "brought up gets it and the other start is refused while it runs; set auto_start: false on all but one.")


def device_conflicts(dev: Any, devices: Sequence[Any], holders: dict[str, list[DomainClaim]],
                     claims_by_address: dict[str, list[ConfigClaim]] | None = None) -> list[str]:
    """Sentences for one GPU row, covering the GPU and its companion functions."""
    claims_by_address = claims_by_address or {}
    by_address = {d.address: d for d in devices}
    out: list[str] = []
    for fn in slot_functions(dev, devices) or [dev]:
        mine = holders.get(fn.address, [])
        running = [h.vm for h in mine if h.running]
        if len(running) > 1:
            out.append(f"{fn.address} is held by {len(running)} running VMs at once: {', '.join(running)}")
        driver = fn.driver
        if driver in HOST_DRIVERS:
            for h in mine:
                if h.running:
                    out.append(f"{fn.address} is passed to running VM {h.vm} but the host still binds it to {driver}")
                elif not h.managed(fn.address):
                    out.append(f"{fn.address} is bound to host driver {driver}, not vfio-pci, and {h.vm} uses "
                               f"managed='no': {h.vm} will fail to start (run gpu.bind_vfio first)")
                else:
                    out.append(f"{fn.address} is still bound to host driver {driver}, not vfio-pci: libvirt "
                               f"takes it from the host when {h.vm} starts (managed='yes')")
            if not mine:
                for c in claims_by_address.get(fn.address, []):
                    out.append(f"{fn.address} is in the config of {c.vm} but bound to host driver {driver}, not vfio-pci")
        sentence = shared_config_sentence(fn.address, claims_by_address.get(fn.address, []))
        if sentence:
            out.append(sentence)
    out.extend(group_conflicts(dev, by_address, holders))
    return list(dict.fromkeys(out))


def group_conflicts(dev: Any, by_address: dict[str, Any], holders: dict[str, list[DomainClaim]]) -> list[str]:
    """An IOMMU group must go to one owner whole: flag groups split between VMs, or between a VM
    and the host."""
    members = [by_address[m] for m in dev.iommu_members if m in by_address and not _is_bridge(by_address[m])]
    if len(members) < 2:
        return []
    owners: dict[str, set[str]] = {}
    for m in members:
        vms = {h.vm for h in holders.get(m.address, [])}
        owners[m.address] = vms or {"host"}
    all_owners = set().union(*owners.values())
    if len(all_owners) <= 1:
        return []
    # Several defined VMs naming the whole group is not a split (who runs is the running check).
    if "host" not in all_owners and all(v == next(iter(owners.values())) for v in owners.values()):
        return []
    detail = ", ".join(f"{a} -> {'/'.join(sorted(v))}" for a, v in sorted(owners.items()))
    return [f"IOMMU group {dev.iommu_group} is split between owners ({detail}): a group must be passed through whole"]


def start_problems(vm: str, wanted: Iterable[str], domains: Iterable[DomainClaim], devices: Sequence[Any] = ()) -> list[str]:
    """Why `vm` may not start now: a device it names (or a member of that device's IOMMU group)
    is held by another running VM."""
    wanted = list(dict.fromkeys(wanted))
    by_address = {d.address: d for d in devices}
    running_holders: dict[str, str] = {}
    for dom in domains:
        if dom.vm != vm and dom.running:
            for address in dom.addresses:
                running_holders.setdefault(address, dom.vm)
    out = []
    for address in wanted:
        if address in running_holders:
            out.append(f"{address} is held by running VM {running_holders[address]}")
            continue
        dev = by_address.get(address)
        for member in (dev.iommu_members if dev is not None else ()):
            if member != address and member in running_holders and not _is_bridge(by_address.get(member, dev)):
                out.append(f"{address} shares IOMMU group {dev.iommu_group} with {member}, held by running VM "
                           f"{running_holders[member]}")
    return out


@dataclass(frozen=True)
class AssignmentCheck:
    vm: str
    addresses: tuple[str, ...]  # what would be added (GPU plus companion functions)
    errors: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_json(self) -> dict[str, Any]:
        return {"vm": self.vm, "addresses": list(self.addresses), "errors": list(self.errors),
                "warnings": list(self.warnings), "ok": self.ok}


def check_assignment(vm: str, address: str, devices: Sequence[Any], domains: Sequence[DomainClaim], *,
                     with_functions: bool = True, share: bool = False, whole_group: bool = False,
                     host: str = "the host") -> AssignmentCheck:
    """What `gpu.assign vm address` would do and why it may not."""
    by_address = {d.address: d for d in devices}
    address = address.lower()
    dev = by_address.get(address)
    errors: list[str] = []
    warnings: list[str] = []
    if dev is None:
        gpus = sorted(d.address for d in devices if d.class_code.startswith("03"))
        return AssignmentCheck(vm, (), (f"{address} is not a PCI device on {host} (GPUs there: {', '.join(gpus) or 'none'})",), ())
    target = next((d for d in domains if d.vm == vm), None)
    if target is None:
        errors.append(f"no VM named {vm!r} on {host}")
    addresses = [f.address for f in slot_functions(dev, devices)] if with_functions else [address]
    if whole_group:
        addresses += [m for m in dev.iommu_members
                      if m in by_address and m not in addresses and not _is_bridge(by_address[m])]
    holders = holders_by_address(domains)
    for a in addresses:
        if target is not None and a in target.addresses:
            errors.append(f"{a} is already assigned to {vm}")
            continue
        for other in holders.get(a, []):
            if other.vm == vm:
                continue
            if other.running:
                errors.append(f"{a} is held by running VM {other.vm}")
            elif not share:
                errors.append(f"{a} is already assigned to {other.vm} (shut off); pass share=true to give it to "
                              f"both (only one may run at a time)")
            else:
                warnings.append(f"{a} is also assigned to {other.vm}: only one of them may run at a time")
    # The rest of the IOMMU group must come along, or stay with nobody.
    for member in dev.iommu_members:
        m = by_address.get(member)
        if m is None or member in addresses or _is_bridge(m):
            continue
        owners = [h.vm for h in holders.get(member, []) if h.vm != vm]
        errors.append(f"IOMMU group {dev.iommu_group} also holds {member} ({m.product or m.class_code}"
                      f"{', assigned to ' + ', '.join(owners) if owners else ''}): a group is passed through whole; "
                      f"pass whole_group=true to assign every member, or split the group (ACS)")
    for a in addresses:
        d = by_address.get(a)
        if d is not None and d.driver in HOST_DRIVERS:
            warnings.append(f"{a} is bound to host driver {d.driver}: libvirt rebinds it to vfio-pci when {vm} starts")
    return AssignmentCheck(vm, tuple(addresses), tuple(dict.fromkeys(errors)), tuple(warnings))
