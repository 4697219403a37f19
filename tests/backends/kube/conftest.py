"""The fake apiserver (tests/fakes/kube_apiserver.py) and a real kubeconfig file pointing at it.

No kube-apiserver can run on the test machines; the fake is pinned to recorded real behaviour
by test_fake_contract.py. It starts in milliseconds, so every test gets a fresh one."""

from __future__ import annotations

import pytest

from tests.fakes.kube_apiserver import FakeApiServer


@pytest.fixture
async def fake():
    server = FakeApiServer(token="s3cr3t-token")
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def kubeconfig(fake, tmp_path):
    return fake.write_kubeconfig(tmp_path / "kubeconfig", context="lab")
