#!/usr/bin/env bash
# The whole test suite: set-up, a warnings-as-errors build, the layer check, every CTest test
# (unit, bindings, conformance, examples, Tengo corpus). `--asan` runs it under the sanitizers.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# ccache: paths relative to the checkout, so another clone of the project reuses the cache.
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
preset=ci
[ "${1:-}" = "--asan" ] && preset=asan
"$root/scripts/setup.sh"
"$root/tools/check_layers.sh"
cd "$root"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
ctest --preset "$preset" --timeout 600
