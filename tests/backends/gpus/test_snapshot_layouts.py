"""`cockpit snapshot --format json` against test-driver hosts with generated GPU layouts: the
inventory, the assignment and the conflicts must follow the layout, whatever it is."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cockpit.cli import main
from tests.backends.libvirt.hostxml import Fn, Vm, render


@st.composite
def layouts(draw):
    n = draw(st.integers(1, 6))
    buses = draw(st.lists(st.integers(1, 250), min_size=n, max_size=n, unique=True))
    functions, gpus = [], []
    group_ids = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))  # GPUs may share a group
    for bus, g in zip(buses, group_ids):
        address = f"0000:{bus:02x}:00.0"
        driver = draw(st.sampled_from(["vfio-pci", "nvidia", None]))
        functions.append(Fn(address, "0x030200", "0x10de", "0x2331", "GH100 [H100 PCIe]", driver, 100 + g))
        gpus.append(address)
        if draw(st.booleans()):
            functions.append(Fn(f"0000:{bus:02x}:00.1", "0x040300", "0x10de", "0x22bd", "Audio", driver, 100 + g))
    vms = []
    for i in range(draw(st.integers(0, 4))):
        held = draw(st.lists(st.sampled_from(gpus), max_size=2, unique=True))
        vms.append(Vm(f"vm-{i}", draw(st.booleans()), held))
    return functions, vms


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layout=layouts())
def test_snapshot_follows_any_layout(layout, tmp_path_factory, capsys) -> None:
    functions, vms = layout
    work = tmp_path_factory.mktemp("layout")
    (work / "host.xml").write_text(render(functions, vms))
    (work / "config.yaml").write_text(f"cockpit:\n  gpus:\n    guest_telemetry: false\n  libvirt:\n    hosts:\n"
                                      f"      - name: h\n        uri: 'test://{work / 'host.xml'}'\n")
    capsys.readouterr()
    assert main(["--config", str(work / "config.yaml"), "snapshot", "--sources", "vms,gpus", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    gpus = {g["pci_address"]: g for g in doc["gpus"]["items"]}
    expected = sorted(f.address for f in functions if f.class_code.startswith("0x03"))
    assert list(gpus) == expected  # every GPU, sorted, nothing else
    for f in functions:
        if f.address in gpus:
            g = gpus[f.address]
            assert g["host_driver"] == f.driver and g["iommu_group"] == f.group
            assert g["vendor_id"] == "10de" and g["device_id"] == "2331"
    for address, g in gpus.items():
        holders = [vm for vm in vms if address in vm.hostdevs]
        running = [vm.name for vm in holders if vm.running]
        assert g["assigned_to"] == (running[0] if running else (holders[0].name if holders else None))
        two_running = any("running VMs at once" in c for c in g["conflicts"])
        assert two_running == (len(running) > 1)
        owners_in_group = {vm.name for f in functions if f.group == g["iommu_group"] for vm in vms if f.address in vm.hostdevs}
        members = [f for f in functions if f.group == g["iommu_group"]]
        unheld = [f for f in members if not any(f.address in vm.hostdevs for vm in vms)]
        split = any("is split between owners" in c for c in g["conflicts"])
        if len(members) > 1 and owners_in_group and unheld:
            assert split, (g, vms)
        if len(members) < 2 or not owners_in_group:
            assert not split
        bound_to_host = [f for f in functions if f.address.rsplit(".", 1)[0] == address.rsplit(".", 1)[0]
                         and f.driver == "nvidia" and any(f.address in vm.hostdevs for vm in vms)]
        assert any("host driver nvidia" in c or "binds it to nvidia" in c for c in g["conflicts"]) == bool(bound_to_host)
    vm_items = {v["name"]: v for v in doc["vms"]["items"]}
    assert sorted(vm_items) == sorted(vm.name for vm in vms)
    for vm in vms:
        assert vm_items[vm.name]["gpus"] == vm.hostdevs
        assert vm_items[vm.name]["state"] == ("running" if vm.running else "shutoff")
