"""The base of every snapshot item (a VM, a GPU, a job, a pod, a run), kept apart from
cockpit.snapshot so that reading and drawing snapshots does not import pydantic: the screen's
first frame is drawn before any item exists (see screens/app.py, start-up)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Item(BaseModel):
    """Base for every snapshot item: frozen, so equality is a cheap 'did this row change'."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def key(self) -> str:  # pragma: no cover - every item type overrides it
        raise NotImplementedError
