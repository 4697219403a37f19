"""Against the real lab: a submit carrying a token finds the job an earlier (interrupted) submit
created instead of making a duplicate; cancel re-reads its target."""

from __future__ import annotations

import pytest

from cockpit.actions import ActionRefused, local_actor
from tests.backends.slurm.test_lab_live import runtime  # noqa: F401 - fixture

pytestmark = [pytest.mark.slow, pytest.mark.needs_root]


async def test_same_token_reuses_the_job_and_cancel_checks_its_target(runtime):  # noqa: F811
    params = {"name": "idem", "gpus_per_node": 0, "command": "sleep 120", "token": "run1.submit"}
    first = await runtime.invoke("slurm.submit", params)
    assert first.ok and first.outputs["reused"] is False, first.error
    again = await runtime.invoke("slurm.submit", params)  # what --resume does after kill -9 mid-submit
    assert again.ok and again.outputs["reused"] is True and again.outputs["job_id"] == first.outputs["job_id"]
    other = await runtime.invoke("slurm.submit", {**params, "token": "run2.submit"})
    assert other.outputs["job_id"] != first.outputs["job_id"]

    dispatcher = runtime.dispatcher
    actor = local_actor("test")
    prepared = dispatcher.prepare("slurm.cancel", {"job_id": first.outputs["job_id"]})
    shown = await dispatcher.read_target(prepared, actor)
    assert f"job {first.outputs['job_id']} 'idem'" in shown
    wrong = shown.replace("'idem'", "'someone-else'")  # as if the id now named another job
    with pytest.raises(ActionRefused, match="target changed"):
        await dispatcher.invoke("slurm.cancel", {"job_id": first.outputs["job_id"]}, actor=actor, confirmed=True,
                                expect_target=wrong)
    for job in (first, other):
        done = await dispatcher.invoke("slurm.cancel", {"job_id": job.outputs["job_id"]}, actor=actor, confirmed=True,
                                       expect_target=await dispatcher.read_target(
                                           dispatcher.prepare("slurm.cancel", {"job_id": job.outputs["job_id"]}), actor))
        assert done.ok, done.error
