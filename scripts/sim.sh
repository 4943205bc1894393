#!/usr/bin/env bash
# The dfs simulation (docs/simulation.md): the real master against model
# chunkservers and writers under seeded faults, checked by an oracle.
#
#   scripts/sim.sh [--seeds N] [--seed S] [--steps STEPS] [--trace] [--watch CHUNK] [--log]
#
# Runs seeds S .. S+N-1 (default 1 and 100) and ends with the line
# `seeds N, failures F`; a failure prints its seed, e.g. to replay it:
#   scripts/sim.sh --seeds 1 --seed 856 --trace
set -euo pipefail
cd "$(dirname "$0")/.."
SIM=build/src/dfs/sim/dfs_sim
[ -x "$SIM" ] || { echo "build first: bash scripts/build.sh" >&2; exit 1; }
exec "$SIM" "$@"
