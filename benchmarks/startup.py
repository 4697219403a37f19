"""Start-up and idle cost of the cockpit screen (issue 2 figures).

Prints, for a fresh process each (headless Textual driver, 160x48):
  - time from the script's first line (interpreter start not counted, for either) to the first
    full frame of a bare Textual app (baseline), wall clock and CPU;
  - the same for the cockpit dashboard on the embedded default, and its ratio (goal <= 1.5x);
  - when the config is validated and the sources built (the cockpit does that right after its
    first frame: screens/app.py, make_runtime), and the first frame that shows VM data;
  - CPU used by an idle cockpit over 30 s with unchanged data (goal < 0.5% of one core).

    .venv/bin/python -m benchmarks.startup [--idle-seconds 30] [--runs 3]

Like with like: Textual, rich and pydantic come precompiled from site-packages, while this
checkout's modules are compiled on every start when PYTHONDONTWRITEBYTECODE is set (as here) and
no __pycache__ exists. So the project is byte-compiled first (compileall, as `pip install` does
for an installed package), and both apps start with bytecode available; the output says so.
Runs alternate bare / cockpit, so both see the same machine load; read the CPU ratio beside the
wall-clock one on a busy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

BARE = r'''
import time, json, sys
t0 = time.perf_counter()
c0 = time.process_time()
from textual.app import App
from textual.widgets import Static
class Bare(App):
    def compose(self):
        yield Static("hello")
    def on_mount(self):
        self.call_after_refresh(self.done)
    def done(self):
        print(json.dumps({"first_frame_s": time.perf_counter() - T0, "first_frame_cpu_s": time.process_time() - c0}))
        self.exit()
T0 = t0
Bare().run(headless=True, size=(160, 48))
'''

COCKPIT = r'''
import time, json, sys, os, asyncio, resource
T0 = time.perf_counter()
C0 = time.process_time()
from cockpit import gc_pause
gc_pause.pause_for_startup()  # what `cockpit` does on its way to the TUI (cockpit/cli.py, cmd_default)
from screens.app import CockpitApp
def make_runtime():  # as cmd_default's: the config is read and the sources built after the first frame
    from cockpit.config import load_config
    from cockpit.runtime import build_runtime
    return build_runtime(load_config())
IDLE = float(sys.argv[1])
class Probe(CockpitApp):
    marks = {}
    def on_mount(self):
        # Asked before the app's own after-refresh work (reading the config, building the
        # sources): the first frame is on screen when the first of these callbacks runs.
        self.call_after_refresh(self.first_frame)
        super().on_mount()
        self.checker = self.set_interval(0.02, self.check)
    def first_frame(self):
        self.marks.setdefault("first_frame_s", time.perf_counter() - T0)
        self.marks.setdefault("first_frame_cpu_s", time.process_time() - C0)
        # The frame measured must be the dashboard a user sees: every pane laid out on screen.
        panes = self.dashboard.panes() if self.screen is self.dashboard else []
        self.marks.setdefault("dashboard_drawn", bool(panes) and all(p.region.area for p in panes))
    def _connect(self):
        super()._connect()
        self.marks.setdefault("connected_s", time.perf_counter() - T0)  # config validated, sources built
    def check(self):
        t = self.dashboard.pane("vms").table("vms") if self.dashboard.is_mounted else None
        if t is not None and t.row_count and "data_frame_s" not in self.marks:
            self.marks["data_frame_s"] = time.perf_counter() - T0
            self.checker.stop()  # the probe must not be what costs CPU while idle
            self.set_timer(5.0, self.start_idle)   # let every source settle first
    def start_idle(self):
        self.cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        self.wall0 = time.perf_counter()
        self.set_timer(IDLE, self.finish)
    def finish(self):
        r = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (r.ru_utime - self.cpu0.ru_utime) + (r.ru_stime - self.cpu0.ru_stime)
        wall = time.perf_counter() - self.wall0
        fetches = {n: c.fetch_count for n, c in self.runtime.hub.collectors.items()}
        print(json.dumps({**self.marks, "idle_cpu_percent": 100 * cpu / wall, "idle_wall_s": wall, "fetches": fetches}))
        self.exit()
app = Probe(make_runtime=make_runtime)
app.run(headless=True, size=(160, 48))
'''


def run(code: str, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    home = tempfile.mkdtemp(prefix="cockpit-bench-")
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        env[var] = os.path.join(home, var.lower())
    script = Path(home) / "probe.py"  # a file, not -c: Textual resolves CSS paths from the class's file
    script.write_text(code)
    out = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, env=env, cwd=REPO,
                         timeout=600)
    for line in reversed(out.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"no figures: {out.stderr[-2000:]}")


def compile_project() -> None:
    """Byte-compile this checkout (as `pip install` does), so the project starts from bytecode
    like Textual and the rest of site-packages do, even under PYTHONDONTWRITEBYTECODE."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", *(str(REPO / d) for d in ("cockpit", "backends", "screens"))],
                   check=True, capture_output=True, timeout=300)


def measure(runs: int = 3, idle_seconds: float = 30.0) -> dict:
    """Medians over `runs` fresh processes each (bare and cockpit alternating, the project
    byte-compiled first): bare Textual first frame, cockpit first frame (wall and CPU seconds),
    first frame with VM data; then one idle run: CPU percent of one core and fetch counts."""
    compile_project()
    bare, cockpit = [], []
    for _ in range(runs):
        bare.append(run(BARE))
        cockpit.append(run(COCKPIT, "1"))
    if not all(c["dashboard_drawn"] for c in cockpit):
        raise RuntimeError("the frame measured was not the laid-out dashboard")
    idle = run(COCKPIT, str(idle_seconds))
    b = statistics.median(r["first_frame_s"] for r in bare)
    f = statistics.median(c["first_frame_s"] for c in cockpit)
    b_cpu = statistics.median(r["first_frame_cpu_s"] for r in bare)
    f_cpu = statistics.median(c["first_frame_cpu_s"] for c in cockpit)
    return {"runs": runs, "bytecode": "project byte-compiled (compileall), site-packages precompiled",
            "bare_first_frame_s": b, "first_frame_s": f, "ratio": f / b,
            "bare_first_frame_cpu_s": b_cpu, "first_frame_cpu_s": f_cpu, "cpu_ratio": f_cpu / b_cpu,
            "load_average": os.getloadavg()[0],
            "connected_s": statistics.median(c["connected_s"] for c in cockpit),
            "data_frame_s": statistics.median(c["data_frame_s"] for c in cockpit),
            "idle_cpu_percent": idle["idle_cpu_percent"], "idle_wall_s": idle["idle_wall_s"],
            "fetches": idle["fetches"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    m = measure(args.runs, args.idle_seconds)
    b, f = m["bare_first_frame_s"], m["first_frame_s"]
    print(f"both with bytecode: {m['bytecode']}; {os.cpu_count()} CPUs, load average {m['load_average']:.1f}")
    print(f"bare Textual app, first frame:      {b * 1000:7.0f} ms (CPU {m['bare_first_frame_cpu_s'] * 1000:.0f} ms; "
          f"median of {args.runs})")
    print(f"cockpit dashboard, first frame:     {f * 1000:7.0f} ms  -> {m['ratio']:.2f}x the bare app (goal <= 1.5x); "
          f"CPU {m['first_frame_cpu_s'] * 1000:.0f} ms -> {m['cpu_ratio']:.2f}x")
    print(f"cockpit, config read, sources built:{m['connected_s'] * 1000:7.0f} ms (after the first frame)")
    print(f"cockpit, first frame with VM data:  {m['data_frame_s'] * 1000:7.0f} ms")
    print(f"idle cockpit over {m['idle_wall_s']:.0f} s, unchanged data: {m['idle_cpu_percent']:.2f}% of one core "
          f"(goal < 0.5%); fetches so far {m['fetches']}")


if __name__ == "__main__":
    main()
