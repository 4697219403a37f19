"""Start-up: the dashboard's first frame comes before the config is read and the sources are
built (screens/app.py, `make_runtime`), and importing the screen pulls in none of that."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from textual.widgets import Static

from cockpit.errors import ConfigError
from screens.app import CockpitApp
from screens.pane import SourcePane

from .conftest import static_runtime

SIZE = (160, 48)
REPO = Path(__file__).resolve().parents[2]

# What the first frame must not wait for: validation (pydantic, yaml), the config, the runtime
# and the sources' backends. Each was on the first frame's path before (issue 19).
HEAVY = ("pydantic", "yaml", "cockpit.config", "cockpit.runtime", "cockpit.hub", "backends", "libvirt")


def test_importing_the_screen_imports_no_config_validation_or_backend():
    code = ("import json, sys; import screens.app; "
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in %r or m in %r)))" % (HEAVY, HEAVY))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60,
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []


async def test_first_frame_is_drawn_before_the_runtime_is_built(tmp_path, demo_loaded):
    built: list[str] = []
    seen_before_build: dict[str, object] = {}

    def make_runtime():
        # What the screen showed when it asked for its runtime: the panes, laid out, waiting.
        panes = app.dashboard.query(SourcePane)
        seen_before_build["areas"] = [p.region.area for p in panes]
        seen_before_build["status"] = str(app.dashboard.query_one("#status-slurm", Static).render())
        built.append("runtime")
        return static_runtime(tmp_path, demo_loaded)

    app = CockpitApp(make_runtime=make_runtime)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(5):
            await pilot.pause(0.05)
        assert built == ["runtime"]
        assert len(seen_before_build["areas"]) == 5 and all(seen_before_build["areas"])
        assert "starting" in seen_before_build["status"]
        # Once built: the unconfigured sources lose their tables and their panes collapse to
        # the hint line, first in the grid, as when the runtime is given up front.
        panes = list(app.dashboard.query(SourcePane))
        collapsed = [p.pane_id for p in panes if p.has_class("collapsed")]
        assert sorted(collapsed) == ["kubernetes", "slurm", "storage"]
        assert [p.pane_id for p in panes][:3] == ["slurm", "storage", "kubernetes"]
        assert app.dashboard.pane("slurm").tables() == []
        assert app.dashboard.pane("vms").table("vms").row_count == 3
        assert "not configured" in str(app.dashboard.query_one("#status-slurm", Static).render())
        assert app.sub_title.startswith(demo_loaded.config.metadata.name)


async def test_keys_wait_for_the_runtime_except_quit():
    calls = []

    def make_runtime():
        calls.append(1)
        raise AssertionError("not reached in this test")

    app = CockpitApp(make_runtime=make_runtime)
    assert app.check_action("refresh", ()) is False
    assert app.check_action("quit", ()) is True
    assert calls == []


async def test_a_config_error_ends_the_screen_with_exit_code_2_and_the_error():
    def make_runtime():
        raise ConfigError("/etc/cockpit.yaml", ["cockpit -> slurm -> transport: Input should be 'cli'"])

    app = CockpitApp(make_runtime=make_runtime)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(5):
            await pilot.pause(0.05)
    assert app.return_code == 2
    assert isinstance(app.startup_error, ConfigError)
    assert "cockpit -> slurm -> transport" in app.startup_error.render()


def test_cockpit_on_a_terminal_with_a_bad_config_prints_it_and_exits_2(tmp_path):
    """The whole command in a pseudo-terminal (`script`), as a user starts it."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("cockpit:\n  slurm:\n    transport: bogus\n")
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "TERM": "xterm-256color", "HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_STATE_HOME": str(tmp_path / "state"),
           "XDG_DATA_HOME": str(tmp_path / "data"), "COLUMNS": "100", "LINES": "30"}
    command = f"{sys.executable} -m cockpit --config {bad}"
    out = subprocess.run(["script", "-qec", command, "/dev/null"], capture_output=True, text=True, cwd=REPO,
                         env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert out.returncode == 2, out.stdout[-2000:]
    assert "cockpit -> slurm -> transport" in out.stdout
