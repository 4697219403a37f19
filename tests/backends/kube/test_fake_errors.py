"""The fake's error paths and built-in resources beyond the CRD recordings (pods, logs, jobs,
events). Behaviour follows the Kubernetes API reference; see the fake's module docstring."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from tests.fakes.kube_apiserver import JOB, POD, PYTORCHJOB

pytestmark = pytest.mark.asyncio(loop_scope="session")

PJ = "/apis/kubeflow.org/v1/namespaces/default/pytorchjobs"


@pytest.fixture
async def http(fake):
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {fake.token}"}) as session:
        yield session


async def call(http, fake, method, path, *, params=None, body=None, ctype="application/json"):
    async with http.request(method, fake.url + path, params=params, headers={"Content-Type": ctype},
                            data=None if body is None else json.dumps(body)) as resp:
        text = await resp.text()
        streamed = (params or {}).get("watch") == "true"
        return resp.status, (json.loads(text) if text and text[0] in "{[" and not streamed else text)


def pod(name, containers=("main",), **labels):
    return {"metadata": {"name": name, "labels": labels},
            "spec": {"containers": [{"name": c, "image": "busybox"} for c in containers]}}


@pytest.mark.parametrize("selector", ["team in (a", "!!bad", "a b", "team=a=b", "-x=1"])
async def test_unparsable_label_selector_is_400(fake, http, selector):
    status, body = await call(http, fake, "GET", "/api/v1/pods", params={"labelSelector": selector})
    assert status == 400
    assert body["kind"] == "Status" and body["reason"] == "BadRequest" and body["code"] == 400


async def test_set_based_and_negative_selectors(fake, http):
    for name, team in (("a1", "a"), ("b1", "b"), ("c1", "c")):
        fake.put(POD, pod(name, team=team))
    fake.put(POD, pod("none"))
    s, body = await call(http, fake, "GET", "/api/v1/namespaces/default/pods", params={"labelSelector": "team in (a,b)"})
    assert [i["metadata"]["name"] for i in body["items"]] == ["a1", "b1"]
    s, body = await call(http, fake, "GET", "/api/v1/pods", params={"labelSelector": "!team"})
    assert [i["metadata"]["name"] for i in body["items"]] == ["none"]
    s, body = await call(http, fake, "GET", "/api/v1/pods", params={"labelSelector": "team!=a,team"})
    assert [i["metadata"]["name"] for i in body["items"]] == ["b1", "c1"]


async def test_unsupported_field_selector_is_400(fake, http):
    fake.install_crd(PYTORCHJOB)
    status, body = await call(http, fake, "GET", PJ, params={"fieldSelector": "spec.foo=1"})
    assert (status, body["reason"]) == (400, "BadRequest")
    assert "field label not supported: spec.foo" in body["message"]
    status, _ = await call(http, fake, "GET", "/api/v1/pods", params={"fieldSelector": "spec.nodeName=n1"})
    assert status == 200


async def test_continue_token_expires_after_compaction(fake, http):
    for i in range(5):
        fake.put(POD, pod(f"p{i}"))
    _, first = await call(http, fake, "GET", "/api/v1/namespaces/default/pods", params={"limit": "2"})
    token = first["metadata"]["continue"]
    assert first["metadata"]["remainingItemCount"] == 3
    fake.compact()
    status, body = await call(http, fake, "GET", "/api/v1/namespaces/default/pods",
                              params={"limit": "2", "continue": token})
    assert (status, body["reason"], body["code"]) == (410, "Expired", 410)


async def test_paging_is_consistent_at_the_first_page(fake, http):
    for i in range(4):
        fake.put(POD, pod(f"p{i}"))
    _, first = await call(http, fake, "GET", "/api/v1/namespaces/default/pods", params={"limit": "2"})
    fake.put(POD, pod("p9"))  # created after the first page: not in this list
    _, second = await call(http, fake, "GET", "/api/v1/namespaces/default/pods",
                           params={"limit": "2", "continue": first["metadata"]["continue"]})
    assert [i["metadata"]["name"] for i in second["items"]] == ["p2", "p3"]
    assert second["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]


async def test_create_invalid_is_422_with_causes(fake, http):
    fake.install_crd(PYTORCHJOB)
    status, body = await call(http, fake, "POST", PJ, body={"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob",
                                                             "metadata": {"name": "Bad_Name"}, "spec": {}})
    assert (status, body["reason"]) == (422, "Invalid")
    assert body["details"]["kind"] == "PyTorchJob"
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    assert body["details"]["causes"][0]["reason"] == "FieldValueInvalid"
    status, body = await call(http, fake, "POST", "/api/v1/namespaces/default/pods",
                              body={"metadata": {"name": "p"}, "spec": {}})
    assert status == 422 and body["details"]["causes"][0]["field"] == "spec.containers"


async def test_missing_token_is_401(fake):
    async with aiohttp.ClientSession() as anon:
        async with anon.get(fake.url + "/api/v1/pods") as resp:
            assert resp.status == 401
            assert (await resp.json())["reason"] == "Unauthorized"


async def test_watch_after_compaction_is_error_event_410(fake, http):
    fake.put(POD, pod("p0"))
    old = fake.rv
    fake.put(POD, pod("p1"))
    fake.compact()
    status, body = await call(http, fake, "GET", "/api/v1/pods", params={"watch": "true", "resourceVersion": str(old)})
    assert status == 200
    event = json.loads(body.splitlines()[0]) if isinstance(body, str) else body
    assert event["type"] == "ERROR" and event["object"]["code"] == 410
    assert event["object"]["message"] == f"too old resource version: {old} ({fake.rv})"


async def test_watch_selector_transitions_and_bookmarks(fake, http):
    fake.bookmark_interval = 0.2
    fake.put(POD, pod("p", team="a"))
    rv = fake.rv

    async def later():
        await asyncio.sleep(0.1)
        fake.put(POD, pod("p", team="b"))  # leaves the selector: the watcher sees DELETED
        await asyncio.sleep(0.3)

    task = asyncio.create_task(later())
    _, text = await call(http, fake, "GET", "/api/v1/pods", params={
        "watch": "true", "resourceVersion": str(rv), "labelSelector": "team=a", "allowWatchBookmarks": "true",
        "timeoutSeconds": "1"})
    await task
    types = [json.loads(line)["type"] for line in text.splitlines()]
    assert types[0] == "DELETED"
    assert "BOOKMARK" in types


async def test_pod_logs_container_choice_tail_and_follow(fake, http):
    fake.put(POD, pod("mpi-launcher", containers=("launcher", "sidecar")))
    fake.append_log("default", "mpi-launcher", "launcher", "one", "two", "three")
    path = "/api/v1/namespaces/default/pods/mpi-launcher/log"
    status, body = await call(http, fake, "GET", path)
    assert status == 400 and "choose one of: [launcher sidecar]" in body["message"]
    status, body = await call(http, fake, "GET", path, params={"container": "nope"})
    assert status == 400
    status, text = await call(http, fake, "GET", path, params={"container": "launcher", "tailLines": "2"})
    assert (status, text) == (200, "two\nthree\n")

    async def more():
        await asyncio.sleep(0.1)
        fake.append_log("default", "mpi-launcher", "launcher", "four")
        await asyncio.sleep(0.1)
        fake.remove(POD, "mpi-launcher")  # the stream ends with the pod

    task = asyncio.create_task(more())
    status, text = await call(http, fake, "GET", path, params={"container": "launcher", "tailLines": "1",
                                                                "follow": "true"})
    await task
    assert text == "three\nfour\n"


async def test_job_delete_without_policy_orphans_pods(fake, http):
    for name, policy in (("orphaning", None), ("cascading", "Background")):
        job = fake.put(JOB, {"metadata": {"name": name},
                             "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}}})
        p = pod(f"{name}-pod")
        p["metadata"]["ownerReferences"] = [{"apiVersion": "batch/v1", "kind": "Job", "name": name,
                                             "uid": job["metadata"]["uid"], "controller": True}]
        fake.put(POD, p)
        body = {"propagationPolicy": policy} if policy else None
        status, _ = await call(http, fake, "DELETE", f"/apis/batch/v1/namespaces/default/jobs/{name}", body=body)
        assert status == 200
    assert fake.get(POD, "orphaning-pod") is not None
    assert "ownerReferences" not in fake.get(POD, "orphaning-pod")["metadata"]
    assert fake.get(POD, "cascading-pod") is None


async def test_discovery_lists_only_installed_groups(fake, http):
    status, _ = await call(http, fake, "GET", "/apis/kubeflow.org/v1")
    assert status == 404
    fake.install_crd(PYTORCHJOB)
    status, body = await call(http, fake, "GET", "/apis/kubeflow.org/v1")
    assert status == 200 and "pytorchjobs" in [r["name"] for r in body["resources"]]
    _, groups = await call(http, fake, "GET", "/apis")
    assert "kubeflow.org" in [g["name"] for g in groups["groups"]]
