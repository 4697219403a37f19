#!/usr/bin/env bash
# Build .venv-oumi: oumi 0.9 beside the CPU torch 2.13.0 this machine kind keeps on disk, for the
# MLOPS-3.1/3.2 plans (`oumi train`, `oumi evaluate`). Called by scripts/setup.sh when
# SETUP_OUMI=1; opt-in because it takes about 4.5 minutes and 2.4 GB (measured on the shared
# 2-core VM). `pip install oumi` would replace that torch with a multi-GB CUDA build (oumi 0.9
# declares torch<2.13.0), so torch goes in first, then oumi's own requirements with torch held
# (requirements.txt, constraints.txt), then oumi itself with --no-deps. Rebuilt only when those
# files change. PYTHON picks the interpreter (default python3; the torch file on disk is for 3.11).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUMI_VERSION=0.9
venv=.venv-oumi
stamp=$venv/.cockpit-deps
want=$(cat scripts/oumi/requirements.txt scripts/oumi/constraints.txt scripts/oumi/build-venv.sh | sha256sum | cut -d' ' -f1)
if [ -x "$venv/bin/oumi" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
echo "setup: building $venv (oumi $OUMI_VERSION beside torch 2.13.0 CPU; about 4.5 min, 2.4 GB)"
started=$SECONDS
[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q "torch==2.13.0"
"$venv/bin/pip" install -q -c scripts/oumi/constraints.txt -r scripts/oumi/requirements.txt
"$venv/bin/pip" install -q --no-deps "oumi==$OUMI_VERSION"
# Nothing above may have replaced the CPU torch, and oumi must import with it.
"$venv/bin/python" - <<'PY'
import sys
from importlib.metadata import version

import oumi.core.configs  # noqa: F401
import torch

if not torch.__version__.startswith("2.13.0"):
    sys.exit(f"build-venv: torch {torch.__version__} was installed instead of 2.13.0")
print(f"setup: .venv-oumi has oumi {version('oumi')}, torch {torch.__version__}")
PY
echo "$want" > "$stamp"
echo "setup: $venv built in $((SECONDS - started)) s, $(du -sh "$venv" | cut -f1)"
