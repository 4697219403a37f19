#!/usr/bin/env bash
# Set up, then run the cockpit on its embedded default (or your config). On a terminal it opens
# the screen; in a non-interactive shell it prints `cockpit snapshot --format table`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
exec .venv/bin/cockpit "$@"
