#!/usr/bin/env bash
# Configures (once) and builds Strata into build/. Extra arguments go to ninja.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTRATA_WERROR="${STRATA_WERROR:-OFF}"
fi
ninja -C build "$@"
