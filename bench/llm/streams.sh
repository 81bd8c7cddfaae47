#!/usr/bin/env bash
# Streaming benchmarks against the fake provider executable.
#  1. 1,000 concurrent streaming calls from one spell: all must complete; peak RSS from
#     /usr/bin/time -v (target < 300 MB). Baseline in the same run: a spell that makes no call.
#  2. Per-chunk cost from socket to Lua callback: one long streamed reply (WORDS chunks) minus
#     one short one (startup cancels out), user and system CPU per chunk, median of RUNS runs.
#     Baseline in the same run: bench/llm/raw_stream, libcurl alone reading the same stream and
#     only counting events. Our overhead per chunk is the difference.
#     - For each protocol (openai, anthropic, gemini, ollama), events written whole, one every
#       50 us: each chunk is its own TCP segment and its own wakeup, as from a real provider.
#     - For openai also as fast as the server can write, whole and split at random bytes
#       (about three segments per chunk; the fake server's default).
#     CPU time comes from the kernel's tick sampling (250 Hz here): the user/sys split of one
#     run is approximate, their total is not.
#   bench/llm/streams.sh [build dir] [WORDS] [RUNS] [PROTOCOLS]
#   (defaults: build/release, else build/ci; 20000; 5; "openai anthropic gemini ollama")
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$root/build/release}"
[ -x "$build/src/cli/llmspell" ] || build="$root/build/ci"
words="${2:-20000}"
runs="${3:-5}"
protocols="${4:-openai anthropic gemini ollama}"
short=1000
bin="$build/src/cli/llmspell"
fake="$build/tests/fake_provider/fake_provider"
raw="$build/bench/llm/raw_stream"
tmp="$(mktemp -d)"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$tmp"' EXIT
export OPENAI_API_KEY=sk-bench LLMSPELL_CALL_LOG=off

start_fake() {  # args for fake_provider; sets $port. It serves until its stdin (a fifo) closes.
  local fifo="$tmp/in${#pids[@]}" w
  mkfifo "$fifo"
  rm -f "$tmp/port"
  taskset -c 0 "$fake" "$@" >"$tmp/port" <"$fifo" &
  pids+=($!)
  exec {w}>"$fifo"
  for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
  port="$(head -1 "$tmp/port")"
}

measure() {  # label, command...
  local label="$1"; shift
  /usr/bin/time -v "$@" >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/err"; exit 1; }
  local rss wall
  rss=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$tmp/err")
  wall=$(awk '/Elapsed \(wall clock\)/ {print $NF}' "$tmp/err")
  printf '%-28s peak_rss=%6.1f MB  wall=%s  %s\n' "$label" "$(echo "$rss / 1024" | bc -l)" "$wall" "$(tr '\n' ' ' <"$tmp/out")"
}

cpu() {  # command... -> "user_s sys_s" of the process (bash's time: millisecond resolution)
  local TIMEFORMAT='%3U %3S'
  { time taskset -c 1 "$@" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }; } 2>"$tmp/t"
  cat "$tmp/t"
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

with_n() {  # N, command... with @N@ in its arguments replaced by N
  local n="$1"; shift
  local args=()
  for a in "$@"; do args+=("${a//@N@/$n}"); done
  cpu "${args[@]}"
}

per_chunk() {  # label, then a command with @N@ where the word count goes
  local label="$1"; shift
  local us=() ss=()
  for _ in $(seq "$runs"); do
    read -r lu ls < <(with_n "$words" "$@")
    read -r su ss_ < <(with_n "$short" "$@")
    us+=("$(echo "($lu - $su) * 1000000 / ($words - $short)" | bc -l)")
    ss+=("$(echo "($ls - $ss_) * 1000000 / ($words - $short)" | bc -l)")
  done
  local u s
  u=$(printf '%s\n' "${us[@]}" | median)
  s=$(printf '%s\n' "${ss[@]}" | median)
  printf '  %-34s user %5.2f us  sys %5.2f us  total %5.2f us per chunk\n' "$label" "$u" "$s" "$(echo "$u + $s" | bc -l)"
  echo "$u $s" >"$tmp/last"
}

start_fake --seed 7
export OPENAI_BASE_URL="http://127.0.0.1:$port/v1"
measure "baseline (no calls)" "$bin" exec 'print("ok")'
measure "1 streaming call" "$bin" run "$root/bench/llm/streams.lua" -p n=1
measure "1000 concurrent streams" "$bin" run "$root/bench/llm/streams.lua" -p n=1000

compare() {  # label, kind, model, base url for the kind's environment variable
  local label="$1" kind="$2" model="$3"
  echo "$label ($words - $short chunks, median of $runs runs):"
  per_chunk "libcurl alone (raw_stream)" "$raw" "$kind" "http://127.0.0.1:$port" @N@
  read -r bu bs <"$tmp/last"
  per_chunk "llmspell, Lua callback" "$bin" run "$root/bench/llm/stream_one.lua" -p words=@N@ -p "model=$model"
  read -r lu ls <"$tmp/last"
  printf '  %-34s user %5.2f us  sys %5.2f us  total %5.2f us per chunk (ratio to libcurl alone: %.2fx)\n' \
    "overhead (llmspell - libcurl)" "$(echo "$lu - $bu" | bc -l)" "$(echo "$ls - $bs" | bc -l)" \
    "$(echo "$lu + $ls - $bu - $bs" | bc -l)" "$(echo "($lu + $ls) / ($bu + $bs)" | bc -l)"
}

use_fake() {  # fake_provider args: starts it and points every provider at it
  start_fake "$@"
  export OPENAI_BASE_URL="http://127.0.0.1:$port/v1" ANTHROPIC_BASE_URL="http://127.0.0.1:$port" \
         GEMINI_BASE_URL="http://127.0.0.1:$port/v1beta" OLLAMA_HOST="http://127.0.0.1:$port" \
         ANTHROPIC_API_KEY=sk-bench GEMINI_API_KEY=sk-bench
}

declare -A models=([openai]=openai/gpt-4o-mini [anthropic]=anthropic/claude-sonnet-4-5
                   [gemini]=gemini/gemini-2.5-flash [ollama]=ollama/llama3.2)
use_fake --seed 7 --whole-events --chunk-delay 0.00005
for kind in $protocols; do
  compare "per chunk, $kind, events whole, one every 50 us" "$kind" "${models[$kind]}"
done
use_fake --seed 7 --whole-events
compare "per chunk, openai, events whole, as fast as the server writes" openai openai/gpt-4o-mini
use_fake --seed 7
compare "per chunk, openai, events split at random bytes, as fast as the server writes" openai openai/gpt-4o-mini
