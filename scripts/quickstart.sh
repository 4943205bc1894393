#!/usr/bin/env bash
# Installs dependencies, builds, and starts a local Strata cluster under ./var
# (detached). Stop it with: build/strata down --dir var
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
build/strata up --dir var --detach "$@"
