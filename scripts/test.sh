#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every unit and
# system test with ctest. Extra arguments go to ctest (e.g. -R Fs, -L unit).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
cd build
ctest --output-on-failure --timeout 900 -j2 "$@"
