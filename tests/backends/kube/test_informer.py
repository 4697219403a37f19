"""Informers through kubernetes-asyncio against the fake apiserver, with a real kubeconfig file."""

from __future__ import annotations

import asyncio

import pytest

from backends.kube.api import KubeApi
from backends.kube.informer import Informer
from backends.kube.resources import PODS
from tests.fakes.kube_apiserver import POD

pytestmark = pytest.mark.asyncio(loop_scope="session")


def pod(name, phase="Pending"):
    return {"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "x"}]},
            "status": {"phase": phase}}


async def until(cond, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


@pytest.fixture
async def api(kubeconfig):
    api = await KubeApi.connect(kubeconfig)
    yield api
    await api.close()


async def test_lists_in_pages_then_watches_from_the_lists_resource_version(fake, api):
    for i in range(7):
        fake.put(POD, pod(f"p{i}"))
    seen = []
    inf = Informer(api, PODS, page_size=3, on_event=lambda t, o: seen.append((t, o and o["metadata"]["name"])))
    task = asyncio.create_task(inf.run())
    try:
        await asyncio.wait_for(inf.synced.wait(), 5)
        assert len(inf.objects) == 7
        assert sum(1 for r in fake.requests if r[1] == "/api/v1/pods" and r[0] == "GET") >= 3  # 3 pages
        fake.patch_status(POD, "p3", {"phase": "Running"})
        fake.remove(POD, "p0")
        await until(lambda: ("DELETED", "p0") in seen)
        assert ("MODIFIED", "p3") in seen
        assert not any(t == "ADDED" for t, _ in seen)  # no synthetic ADDED: the watch started at the list's rv
        assert len(inf.objects) == 6
        assert inf.resource_version == str(fake.rv)
    finally:
        task.cancel()


async def test_relists_when_the_watch_resource_version_expired(fake, api):
    fake.put(POD, pod("a"))
    inf = Informer(api, PODS, backoff_base=0.05)
    task = asyncio.create_task(inf.run())
    try:
        await asyncio.wait_for(inf.synced.wait(), 5)
        await until(lambda: fake.watchers)
        fake.put(POD, pod("b"))
        await until(lambda: len(inf.objects) == 2)
        # The apiserver goes away; meanwhile objects change and etcd compacts past what the
        # informer saw, so resuming the watch from its resourceVersion answers 410 Expired.
        port = fake.port
        await fake.stop()
        fake.put(POD, pod("c"))
        fake.remove(POD, "a")
        fake.compact()
        await fake.start(port)
        await until(lambda: inf.relists_on_410 == 1 and inf.lists == 2)
        await until(lambda: sorted(o["metadata"]["name"] for o in inf.objects.values()) == ["b", "c"])
    finally:
        task.cancel()


async def test_reconnects_with_backoff_after_the_apiserver_went_away(fake, api):
    fake.put(POD, pod("a"))
    inf = Informer(api, PODS, backoff_base=0.05)
    task = asyncio.create_task(inf.run())
    try:
        await asyncio.wait_for(inf.synced.wait(), 5)
        await until(lambda: fake.watchers)
        port = fake.port
        await fake.stop()
        await until(lambda: inf.error is not None and inf.reconnects >= 2)
        assert "cannot reach apiserver" in inf.error
        fake.put(POD, pod("while-down"))  # the store outlives the HTTP server
        await fake.start(port)
        await until(lambda: any(o["metadata"]["name"] == "while-down" for o in inf.objects.values()))
        await until(lambda: inf.error is None)
        assert inf.lists == 1  # resumed from its resourceVersion: no re-list needed
    finally:
        task.cancel()


async def test_list_restarts_when_continue_token_expires(fake, api, monkeypatch):
    for i in range(6):
        fake.put(POD, pod(f"p{i}"))
    inf = Informer(api, PODS, page_size=2)
    real_get = api.get
    calls = 0

    async def compacting_get(path, **query):
        nonlocal calls
        calls += 1
        if calls == 2:
            fake.compact()  # between page 1 and page 2
        return await real_get(path, **query)

    monkeypatch.setattr(api, "get", compacting_get)
    items, rv = await inf.list_all()
    assert len(items) == 6 and rv == str(fake.rv)
    assert calls == 2 + 3  # one page answered 410, then a fresh list of three pages
