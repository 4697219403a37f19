"""The vms source on the libvirt test driver: fields, order, CPU %, the XML cache and events."""

from __future__ import annotations

import asyncio

from backends.libvirt.source import LibvirtSource


async def test_items_sorted_with_gpus_and_states(lab_uri: str) -> None:
    source = LibvirtSource({"lab": lab_uri})
    result = await source.fetch()
    items = list(result.items.values())
    assert [i.name for i in items] == sorted(i.name for i in items)
    by_name = {i.name: i for i in items}
    assert by_name["train-a"].gpus == ("0000:01:00.0", "0000:01:00.1")
    assert by_name["split-vm"].state == "shutoff" and by_name["split-vm"].ips == ()
    assert by_name["train-a"].state == "running" and by_name["train-a"].memory_mib == 2048
    assert by_name["idle"].vcpus == 2
    assert result.sections["host_errors"] == []


async def test_cpu_percent_needs_two_samples(lab_uri: str) -> None:
    source = LibvirtSource({"lab": lab_uri})
    first = await source.fetch()
    assert all(i.cpu_percent is None for i in first.items.values())
    await asyncio.sleep(0.05)
    second = await source.fetch()
    running = [i for i in second.items.values() if i.state == "running"]
    assert running and all(i.cpu_percent is not None and 0 <= i.cpu_percent <= 100 for i in running)
    assert all(i.cpu_percent is None for i in second.items.values() if i.state != "running")


async def test_xml_is_cached_between_ticks_and_invalidated(lab_uri: str) -> None:
    source = LibvirtSource({"lab": lab_uri})
    reader = source.readers["lab"]
    await source.fetch()
    reads = reader.xml_reads
    assert reads == 5
    await source.fetch()
    assert reader.xml_reads == reads  # nothing changed: no XML fetched
    source.invalidate("lab")
    await source.fetch()
    assert reader.xml_reads == 2 * reads


async def test_lifecycle_events_arrive_and_poke(lab_uri: str) -> None:
    source = LibvirtSource({"lab": lab_uri})
    pokes = []
    watch = asyncio.create_task(source.watch(lambda r: None, lambda: pokes.append(1)))
    try:
        for _ in range(500):
            if source.hosts["lab"].generation:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        await source.hosts["lab"].call(lambda c: c.lookupByName("split-vm").create())
        for _ in range(1000):
            if any(e.vm == "split-vm" and e.event == "started" for e in source.events):
                break
            await asyncio.sleep(0.02)
        assert any(e.vm == "split-vm" and e.event == "started" for e in source.events)
        assert pokes
        result = await source.fetch()
        assert {i.name: i.state for i in result.items.values()}["split-vm"] == "running"
        assert any(e["vm"] == "split-vm" for e in result.sections["events"])
    finally:
        watch.cancel()
        await asyncio.gather(watch, return_exceptions=True)


async def test_broken_host_is_reported_not_raised(lab_uri: str, tmp_path) -> None:
    source = LibvirtSource({"lab": lab_uri, "gone": f"test://{tmp_path}/missing.xml"})
    result = await source.fetch()
    assert len(result.items) == 5
    assert result.sections["host_errors"] and result.sections["host_errors"][0].startswith("gone:")
