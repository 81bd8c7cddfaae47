#!/usr/bin/env bash
# Debugger overhead (issue #14): a CPU-bound loop (Lua, or JavaScript with `run.sh js`) run with
# `llmspell run`, under `llmspell dap`
# with no breakpoints (target <= 1.5x), and under `llmspell dap` with a breakpoint set in a file
# the spell never loads (target <= 2x). The DAP client is a file of requests written up front
# (initialize, launch, setBreakpoints, configurationDone, then end of input, which lets the spell
# run to its end): an editor's round trips are not what is measured. Uses the release build when
# there is one; hyperfine.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${LLMSPELL_BUILD:-$root/build/release}"
[ -x "$build/src/cli/llmspell" ] || build="$root/build/ci"
bin="$build/src/cli/llmspell"
here="$root/bench/debug"
ext="${1:-lua}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
frame() { printf 'Content-Length: %d\r\n\r\n%s' "${#1}" "$1"; }
session() {  # [breakpoint file]
  frame '{"seq":1,"type":"request","command":"initialize","arguments":{"adapterID":"llmspell"}}'
  frame '{"seq":2,"type":"request","command":"launch","arguments":{"program":"'"$here/loop.$ext"'"}}'
  if [ -n "${1:-}" ]; then
    frame '{"seq":3,"type":"request","command":"setBreakpoints","arguments":{"source":{"path":"'"$1"'"},"breakpoints":[{"line":3}]}}'
  fi
  frame '{"seq":4,"type":"request","command":"configurationDone"}'
}
session >"$tmp/plain.dap"
session "$here/other.$ext" >"$tmp/bp.dap"
echo "binary: $bin"
hyperfine --warmup 1 --runs "${RUNS:-10}" --export-json "${OUT:-/tmp/llmspell_debug_bench.json}" \
  -n run "$bin run $here/loop.$ext >/dev/null" \
  -n "dap, no breakpoints" "$bin dap <$tmp/plain.dap >/dev/null" \
  -n "dap, breakpoint in another file" "$bin dap <$tmp/bp.dap >/dev/null"
