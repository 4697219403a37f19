"""Start-up and idle cost of the cockpit screen (issue 2 figures).

Prints, for a fresh process each (headless Textual driver, 160x48):
  - time from interpreter start to the first full frame of a bare Textual app (baseline);
  - the same for the cockpit dashboard on the embedded default, and its ratio (goal <= 1.5x);
  - time to the first frame that shows VM data;
  - CPU used by an idle cockpit over 30 s with unchanged data (goal < 1% of one core).

    .venv/bin/python -m benchmarks.startup [--idle-seconds 30] [--runs 3]
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
from textual.app import App
from textual.widgets import Static
class Bare(App):
    def compose(self):
        yield Static("hello")
    def on_mount(self):
        self.call_after_refresh(self.done)
    def done(self):
        print(json.dumps({"first_frame_s": time.perf_counter() - T0}))
        self.exit()
T0 = t0
Bare().run(headless=True, size=(160, 48))
'''

COCKPIT = r'''
import time, json, sys, os, asyncio, resource
T0 = time.perf_counter()
from cockpit.config import load_config
from cockpit.runtime import build_runtime
from screens.app import CockpitApp
IDLE = float(sys.argv[1])
class Probe(CockpitApp):
    marks = {}
    def on_mount(self):
        super().on_mount()
        self.call_after_refresh(lambda: self.marks.setdefault("first_frame_s", time.perf_counter() - T0))
        self.checker = self.set_interval(0.02, self.check)
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
app = Probe(build_runtime(load_config()))
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


def measure(runs: int = 3, idle_seconds: float = 30.0) -> dict:
    """Medians over `runs` fresh processes: bare Textual first frame, cockpit first frame, first
    frame with VM data (seconds); then one idle run: CPU percent of one core and fetch counts."""
    bare = [run(BARE)["first_frame_s"] for _ in range(runs)]
    cockpit = [run(COCKPIT, "1") for _ in range(runs)]
    idle = run(COCKPIT, str(idle_seconds))
    b = statistics.median(bare)
    f = statistics.median(c["first_frame_s"] for c in cockpit)
    return {"runs": runs, "bare_first_frame_s": b, "first_frame_s": f, "ratio": f / b,
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
    print(f"bare Textual app, first frame:      {b * 1000:7.0f} ms (median of {args.runs})")
    print(f"cockpit dashboard, first frame:     {f * 1000:7.0f} ms  -> {m['ratio']:.2f}x the bare app (goal <= 1.5x)")
    print(f"cockpit, first frame with VM data:  {m['data_frame_s'] * 1000:7.0f} ms")
    print(f"idle cockpit over {m['idle_wall_s']:.0f} s, unchanged data: {m['idle_cpu_percent']:.2f}% of one core "
          f"(goal < 1%); fetches so far {m['fetches']}")


if __name__ == "__main__":
    main()
