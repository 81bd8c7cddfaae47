#!/usr/bin/env bash
# Installs every Debian package llmspell's build and tests need.
# Idempotent and non-interactive; when everything is present it only runs dpkg-query.
set -euo pipefail

PACKAGES=(
  build-essential g++ cmake ninja-build ccache pkg-config
  liblua5.4-dev lua5.4
  libboost-dev libboost-system-dev
  libcurl4-openssl-dev
  nlohmann-json3-dev libyaml-cpp-dev libcli11-dev
  libfmt-dev libspdlog-dev
  libsqlite3-dev sqlite3
  libsodium-dev libssl-dev libre2-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  hyperfine clang-format clang-tidy
  clang  # libFuzzer targets (-DLLMSPELL_FUZZ=ON, CXX=clang++)
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
