"""Plan steps whose action takes an idempotency `token` get one per run and step (the same after
--resume), so a create interrupted after it took effect is found rather than repeated."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from cockpit.actions import Danger


class Create(BaseModel):
    name: str
    token: str | None = None


async def test_create_steps_carry_a_run_and_step_token(run, runtime):
    seen: list[str | None] = []

    @runtime.registry.action("test.create", Create, Danger.CHANGE, title="Create")
    async def create(ctx: Any, p: Create) -> dict[str, Any]:
        seen.append(p.token)
        return {"name": p.name}

    runner = await run("plan: t\nsteps:\n  - {id: make, action: test.create, params: {name: a}}\n"
                       "  - {id: mine, action: test.create, params: {name: b, token: fixed-1}}\n")
    assert runner.verdict == "passed"
    assert sorted(seen, key=str) == sorted([f"{runner.run_id}.make", "fixed-1"], key=str)
