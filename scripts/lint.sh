#!/usr/bin/env bash
# The static checks CI runs before the tests; each fails on any finding. Fast (seconds):
#   ruff         lint rules chosen in pyproject.toml ([tool.ruff]); no formatting is enforced
#   mypy         strict on cockpit/, normal on screens/ and backends/ ([tool.mypy]); the errors
#                that predate the check are listed in .ci/mypy-baseline.txt (line numbers
#                dropped) and only new ones fail. Shrink it: fix, then
#                `.venv/bin/mypy | .venv/bin/mypy-baseline sync --baseline-path .ci/mypy-baseline.txt --sort-baseline`
#   lint-imports the layer contracts of DESIGN.md ([tool.importlinter])
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
echo "== ruff"; .venv/bin/ruff check --quiet cockpit screens backends tests benchmarks workloads provisioning scripts
echo "== mypy"
# mypy exits 1 on (baselined) errors and 2 when it could not check at all; the baseline filter
# exits non-zero on any error not in the baseline.
status=0; found=$(.venv/bin/mypy) || status=$?
if [ "$status" -gt 1 ]; then echo "$found"; exit "$status"; fi
echo "$found" | .venv/bin/mypy-baseline filter --baseline-path .ci/mypy-baseline.txt --allow-unsynced --hide-stats --no-colors
echo "== lint-imports"; .venv/bin/lint-imports --no-cache
