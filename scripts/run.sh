#!/usr/bin/env bash
# Set up, then run the cockpit on its embedded default (or your config). On a terminal it opens
# the screen; in a non-interactive shell it prints `cockpit snapshot --format table`.
# As root with the SLURM packages present, a local SLURM lab (controller + 4 nodes x 2 fake GPUs
# on loopback) is started for the run and stopped afterwards, so the SLURM pane has something
# real to show. COCKPIT_NO_LAB=1 skips it; a lab you started yourself (`cockpit lab up`) is
# used and left running.
set -euo pipefail
cd "$(dirname "$0")/.."
# The cockpit itself needs no test tools or PyTorch; scripts/test.sh adds them when it runs.
SETUP_EXTRAS=${SETUP_EXTRAS-} bash scripts/setup.sh >&2
cockpit=.venv/bin/cockpit
started_lab=0
# The SLURM daemons live in /usr/sbin, which a root shell started with a bare PATH (env -i, cron,
# some su) leaves out: without it the lab below would not start.
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="$PATH:/usr/sbin:/sbin" ;; esac
if [ "${COCKPIT_NO_LAB:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v slurmctld >/dev/null \
   && ! "$cockpit" lab status >/dev/null 2>&1; then
  if "$cockpit" lab up --no-accounting >&2; then
    started_lab=1
  else
    echo "run: the SLURM lab did not start; the SLURM pane stays unconfigured" >&2
  fi
fi
status=0
"$cockpit" "$@" || status=$?
if [ "$started_lab" = 1 ]; then "$cockpit" lab down >/dev/null 2>&1 || true; fi
exit "$status"
