#!/usr/bin/env bash
# Set up, then run the whole test suite (real SLURM, libvirt, sshd, MLflow, ansible-runner where
# this machine can run them). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
# SETUP_KSERVE=1: also .venv-kserve, the KServe model server the serving lab plans and tests run.
# SETUP_OUMI=1: also .venv-oumi (~4.5 min, 2.4 GB the first time) for the Oumi plans' tests;
# SETUP_OUMI=0 skips it (those tests then skip, saying why).
SETUP_KSERVE=${SETUP_KSERVE-1} SETUP_OUMI=${SETUP_OUMI-1} bash scripts/setup.sh
# Tests write XDG state and data under a temporary home, never into yours.
# The lab-profile plan runs keep their reports (summary.md, junit.xml, events.jsonl) here: CI's artifacts.
export COCKPIT_PLAN_ARTIFACTS="${COCKPIT_PLAN_ARTIFACTS:-$PWD/test-artifacts/plans}"
exec .venv/bin/python -m pytest "$@"
