#!/usr/bin/env bash
# Compares llmspell's Tengo VM (tengo_run) with lua5.4 on recursive and tail-recursive fib.
# Usage: bench/tengo/run.sh [BUILD_DIR]   (default build/tengo; builds tengo_run first)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build/tengo}
cmake --build "$BUILD" --target tengo_run -j2 >/dev/null
RUN="$BUILD/src/engines/tengo/tengo_run"
hyperfine --warmup 1 --runs 5 \
  -n "tengo fib(35)" "$RUN bench/tengo/fib.tengo" \
  -n "lua5.4 fib(35)" "lua5.4 bench/tengo/fib.lua" \
  -n "tengo fibtc(35) x100000" "$RUN bench/tengo/fibtc.tengo" \
  -n "lua5.4 fibtc(35) x100000" "lua5.4 bench/tengo/fibtc.lua"
