#!/usr/bin/env bash
# Whole-process start-up: `llmspell exec 'return 1'` against `lua5.4 -e` as the baseline, and the
# 1,000-sleeps spell. Needs the release build: cmake --preset release && cmake --build --preset release
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${LLMSPELL_BIN:-$root/build/release/src/cli/llmspell}"
[ -x "$bin" ] || bin="$root/build/ci/src/cli/llmspell"
hyperfine -N --warmup 5 --runs 50 --export-markdown /dev/stdout \
  "$bin exec 'return 1'" \
  "lua5.4 -e 'return 1'"
hyperfine -N --warmup 1 --runs 10 \
  "$bin exec 'local ps = {} for i = 1, 1000 do ps[i] = spawn(function() sleep(0.05) end) end promise.all(ps)'"
