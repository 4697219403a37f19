"""The source registry (cockpit/sources.py): everything that lists sources derives from it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cockpit import sources
from cockpit.actions import ActionRegistry
from cockpit.commands import COMMANDS
from cockpit.config import CockpitSection, Refresh, parse_config
from cockpit.plans.model import SnapshotCheck
from cockpit.source_types import NotConfigured, UnconfiguredSource
from cockpit.sources import REGISTRY, SOURCE_NAMES, SPECS, SourceSpec


def test_source_names_are_the_specs_in_order():
    assert SOURCE_NAMES == ("vms", "gpus", "slurm", "storage", "kubernetes", "mlflow")  # the JSON contract
    assert tuple(s.name for s in SPECS) == SOURCE_NAMES == tuple(REGISTRY)


def test_config_sections_and_refresh_defaults_come_from_the_specs():
    assert set(Refresh.model_fields) == set(SOURCE_NAMES)
    refresh = parse_config("{}", "t", env={}).config.cockpit.refresh
    for spec in SPECS:
        timing = refresh.for_source(spec.name)
        assert (timing.interval, timing.min_interval) == (spec.interval, spec.min_interval)
        if spec.settings_key:
            assert CockpitSection.model_fields[spec.settings_key].annotation is not None
    loaded = parse_config("cockpit: {slurm: {transport: rest, rest_url: 'http://h:6820'}}", "t", env={})
    assert sources.spec_for("slurm").settings_of(loaded).rest_url == "http://h:6820"
    with pytest.raises(Exception, match=r"cockpit -> beegfs -> capacity_warn_percent"):
        parse_config("cockpit: {beegfs: {management_host: m, capacity_warn_percent: 101}}", "t", env={})


def test_plans_accept_exactly_the_registered_sources():
    for name in SOURCE_NAMES:
        SnapshotCheck(source=name)
    with pytest.raises(ValidationError):
        SnapshotCheck(source="nosuchsource")
    assert sources.SOURCE_OF_SHORTHAND == {"vm": "vms", "job": "slurm", "pod": "kubernetes",
                                           "inference_service": "kubernetes", "metric": "mlflow"}


def test_dashboard_panes_and_pane_keys_follow_the_registry():
    panes = sources.panes()
    shown = {source for _, _, tables in panes for source, _ in tables}
    assert shown == {s.name for s in SPECS if s.pane}
    assert [p[0] for p in panes] == ["vms", "slurm", "storage", "kubernetes", "mlflow"]
    assert ("slurm", "nodes") in panes[1][2] and ("gpus", None) in panes[0][2]
    keys = {c.key: c.action for c in COMMANDS if c.id.startswith("pane_")}
    assert keys == {str(i): f"focus_pane('{p[0]}')" for i, p in enumerate(panes, start=1)}


def test_every_action_module_exists_and_a_missing_one_is_an_error(monkeypatch):
    from cockpit import ops

    registry = ActionRegistry()
    ops.register_all(registry)
    assert {a.name.split(".")[0] for a in registry} >= {"vm", "gpu", "slurm", "storage", "kube", "mlflow", "cluster", "ansible"}
    monkeypatch.setattr(ops, "action_modules", lambda: ("cockpit.ops.nosuchmodule",))
    with pytest.raises(ModuleNotFoundError, match="nosuchmodule"):
        ops.register_all(ActionRegistry())


def test_builder_not_configured_shows_the_hint_and_its_reason(monkeypatch):
    spec = SourceSpec(name="toy", title="Toy", builder="tests.cockpit.test_sources:_refusing_builder",
                      hint="set cockpit.toy", configured=lambda loaded: True)
    monkeypatch.setitem(REGISTRY, "toy", spec)
    source = sources.build_source("toy", parse_config("{}", "t", env={}))
    assert isinstance(source, UnconfiguredSource) and source.hint == "no endpoint given; set cockpit.toy"
    unconfigured = sources.build_source("slurm", parse_config("{}", "t", env={}))
    assert isinstance(unconfigured, UnconfiguredSource) and unconfigured.hint == sources.HINTS["slurm"]


def _refusing_builder(loaded):
    raise NotConfigured("no endpoint given")
