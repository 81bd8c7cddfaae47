#!/usr/bin/env bash
# 1,000 concurrent streaming calls from one spell against the fake provider executable: all must
# complete; peak RSS from /usr/bin/time -v (target < 300 MB). Baseline in the same run: the
# same binary running a spell that makes no call. Then one long streamed reply, for the
# per-chunk cost from socket to script callback.
#   bench/llm/streams.sh [build dir]   (default: build/release, else build/ci)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$root/build/release}"
[ -x "$build/src/cli/llmspell" ] || build="$root/build/ci"
bin="$build/src/cli/llmspell"
fake="$build/tests/fake_provider/fake_provider"
[ -x "$fake" ] || fake="$(find "$build" -name fake_provider -type f -perm -u+x | head -1)"
coproc FAKE { exec "$fake" --seed 7; }
read -r port <&"${FAKE[0]}"
trap 'kill "$FAKE_PID" 2>/dev/null || true' EXIT
export OPENAI_BASE_URL="http://127.0.0.1:$port/v1" OPENAI_API_KEY=sk-bench LLMSPELL_CALL_LOG=off
tmp="$(mktemp -d)"
measure() {  # label, command...
  local label="$1"; shift
  /usr/bin/time -v "$@" >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/err"; exit 1; }
  local rss wall
  rss=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$tmp/err")
  wall=$(awk '/Elapsed \(wall clock\)/ {print $NF}' "$tmp/err")
  printf '%-28s peak_rss=%6.1f MB  wall=%s  %s\n' "$label" "$(echo "$rss / 1024" | bc -l)" "$wall" "$(tr '\n' ' ' <"$tmp/out")"
}
measure "baseline (no calls)" "$bin" exec 'print("ok")'
measure "1 streaming call" "$bin" run "$root/bench/llm/streams.lua" -p n=1
measure "1000 concurrent streams" "$bin" run "$root/bench/llm/streams.lua" -p n=1000
measure "one long stream" "$bin" run "$root/bench/llm/stream_one.lua" -p words=20000
measure "one short stream" "$bin" run "$root/bench/llm/stream_one.lua" -p words=200
rm -rf "$tmp"
