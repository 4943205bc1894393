#!/usr/bin/env bash
# Installs Strata's build dependencies and test peers from Debian 12 packages.
# Idempotent: does nothing when everything is already installed.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config clang
  # libraries
  libasio-dev libprotobuf-dev protobuf-compiler librocksdb-dev libisal-dev
  liblz4-dev libzstd-dev libspdlog-dev libfmt-dev libcli11-dev libyaml-cpp-dev
  nlohmann-json3-dev libcpp-httplib-dev libgtest-dev libgmock-dev libbenchmark-dev libssl-dev
  liblua5.1-0-dev
  # clients and peers used by tests and benchmarks
  fio libnbd-bin nbdkit qemu-utils redis-tools redis-server memcached libmemcached-tools curl procps jq netcat-openbsd iproute2
  python3-redis etcd-server etcd-client
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
