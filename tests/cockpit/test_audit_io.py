"""Audit writes leave the event loop, and read actions (some run on every cursor move, such as
gpu.check_assign) are not fsync'd, while every change is, before the action runs."""

from __future__ import annotations

import os
import threading

from pydantic import BaseModel

from cockpit.actions import ActionRegistry, Actor, Danger
from cockpit.audit import AuditLog
from cockpit.config import parse_config
from cockpit.hub import Hub
from cockpit.runtime import CockpitRuntime

ALICE = Actor(name="alice", via="test")


class NoParams(BaseModel):
    pass


def runtime_with_two_actions(tmp_path, seen: list[str]) -> CockpitRuntime:
    registry = ActionRegistry()

    async def look(ctx, p):
        seen.append("look ran")

    async def change(ctx, p):
        seen.append("change ran")

    registry.action("test.look", NoParams, Danger.READ)(look)
    registry.action("test.change", NoParams, Danger.CHANGE)(change)
    return CockpitRuntime(loaded=parse_config("", "t", env={}), hub=Hub([]), registry=registry,
                   audit=AuditLog(tmp_path / "audit.jsonl"))


async def test_audit_records_are_written_off_the_event_loop_and_reads_skip_fsync(tmp_path, monkeypatch):
    seen: list[str] = []
    runtime = runtime_with_two_actions(tmp_path, seen)
    writers: list[tuple[str, str]] = []
    fsyncs: list[int] = []
    real_write, real_fsync = AuditLog.write, os.fsync

    def spying_write(self, record):
        writers.append((record["event"], threading.current_thread().name))
        seen.append(f"audit {record['event']}")
        return real_write(self, record)

    def counting_fsync(fd):
        fsyncs.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(AuditLog, "write", spying_write)
    monkeypatch.setattr(os, "fsync", counting_fsync)

    await runtime.dispatcher.invoke("test.look", {}, actor=ALICE)
    assert fsyncs == []  # two records, neither fsync'd
    await runtime.dispatcher.invoke("test.change", {}, actor=ALICE, confirmed=True)
    assert len(fsyncs) == 2  # start and end of the change

    main = threading.main_thread().name
    assert len(writers) == 4 and all(thread != main for _, thread in writers), writers
    # The start record is on disk before the action runs, the end record after.
    assert seen == ["audit action.start", "look ran", "audit action.end",
                    "audit action.start", "change ran", "audit action.end"]
    events = [(r["action"], r["event"]) for r in runtime.audit.records()]
    assert events == [("test.look", "action.start"), ("test.look", "action.end"),
                      ("test.change", "action.start"), ("test.change", "action.end")]
