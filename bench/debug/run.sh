#!/usr/bin/env bash
# Debugger overhead (issue #14): a CPU-bound loop (Lua, or JavaScript with `run.sh js`) run with
# `llmspell run`, under `llmspell dap`
# with no breakpoints (target <= 1.5x), and under `llmspell dap` with a breakpoint set in a file
# the spell never loads (target <= 2x). `run.sh tengo`: the same for the Tengo benchmark
# (bench/tengo/fib.tengo), plus a breakpoint in the spell's own file on a line it never reaches
# (the VM's line mode on throughout: the worst case). The DAP client is a file of requests written up front
# (initialize, launch, setBreakpoints, configurationDone, then end of input, which lets the spell
# run to its end): an editor's round trips are not what is measured. Uses the release build when
# there is one; hyperfine.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${LLMSPELL_BUILD:-$root/build/release}"
[ -x "$build/src/cli/llmspell" ] || build="$root/build/ci"
bin="$build/src/cli/llmspell"
here="$root/bench/debug"
ext="${1:-lua}"  # lua, js or tengo
spell="$here/loop.$ext"
other="$here/other.$ext"
own=""
if [ "$ext" = tengo ]; then
  spell="$root/bench/tengo/fib.tengo"
  other="$here/other.lua"  # a file the spell never loads: its language does not matter
  own="$spell"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
frame() { printf 'Content-Length: %d\r\n\r\n%s' "${#1}" "$1"; }
session() {  # [breakpoint file]
  frame '{"seq":1,"type":"request","command":"initialize","arguments":{"adapterID":"llmspell"}}'
  frame '{"seq":2,"type":"request","command":"launch","arguments":{"program":"'"$spell"'"}}'
  if [ -n "${1:-}" ]; then
    frame '{"seq":3,"type":"request","command":"setBreakpoints","arguments":{"source":{"path":"'"$1"'"},"breakpoints":[{"line":${2:-3}}]}}'
  fi
  frame '{"seq":4,"type":"request","command":"configurationDone"}'
}
session >"$tmp/plain.dap"
session "$other" >"$tmp/bp.dap"
[ -z "$own" ] || session "$own" 999 >"$tmp/own.dap"
echo "binary: $bin"
hyperfine --warmup 1 --runs "${RUNS:-10}" --export-json "${OUT:-/tmp/llmspell_debug_bench.json}" \
  -n run "$bin run $spell >/dev/null" \
  -n "dap, no breakpoints" "$bin dap <$tmp/plain.dap >/dev/null" \
  -n "dap, breakpoint in another file" "$bin dap <$tmp/bp.dap >/dev/null" \
  ${own:+-n "dap, breakpoint in the spell's file (never hit)" "$bin dap <$tmp/own.dap >/dev/null"}
