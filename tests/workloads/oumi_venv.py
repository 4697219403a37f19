"""Where the optional Oumi venv lives (built by `SETUP_OUMI=1 bash scripts/setup.sh`), and the
skip reason tests give when it is not there."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OUMI_PYTHON = REPO / ".venv-oumi" / "bin" / "python"
SKIP_REASON = (f"no Oumi venv at {OUMI_PYTHON.parent.parent}: it is opt-in (oumi 0.9 beside the CPU torch "
               "2.13.0, about 4.5 min and 2.4 GB here); build it with SETUP_OUMI=1 bash scripts/setup.sh")
