#!/usr/bin/env bash
# The static checks CI runs before the tests; each fails on any finding. Fast (seconds):
#   ruff         lint rules chosen in pyproject.toml ([tool.ruff]); no formatting is enforced
#   mypy         strict on cockpit/, normal on screens/ and backends/ ([tool.mypy])
#   lint-imports the layer contracts of DESIGN.md ([tool.importlinter])
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
echo "== ruff"; .venv/bin/ruff check --quiet cockpit screens backends tests
echo "== mypy"; .venv/bin/mypy
echo "== lint-imports"; .venv/bin/lint-imports --no-cache
