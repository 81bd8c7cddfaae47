#!/usr/bin/env bash
# The agent workload of issue #13 (two model calls and two parallel tools per run, against the
# peer benchmark's fake OpenAI server), measured three ways, stream off and on:
#   1. instructions per model call under callgrind (deterministic): the difference between a
#      process doing N2 runs and one doing N1, divided by the 2*(N2-N1) extra model calls;
#   2. CPU per model call (user+sys from /usr/bin/time), marginal the same way, and whole-process
#      as the peer harness reports it ((user+sys) / 2N at N=200, C=50);
#   3. peak RSS at 50 and at 500 runs in flight.
# Needs ../shared/bench/peers/fake_openai.py beside the checkout (python3, no Node). Uses the
# release build when there is one. Knobs: N1, N2 (callgrind), REPS, PORT.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${LLMSPELL_BUILD:-$root/build/release}"
[ -x "$build/src/cli/llmspell" ] || build="$root/build/ci"
bin="$build/src/cli/llmspell"
spell="$root/bench/agent/workload.lua"
peers="$root/../shared/bench/peers"
reps="${REPS:-3}" n1="${N1:-20}" n2="${N2:-120}"
if [ ! -f "$peers/fake_openai.py" ]; then
  echo "skipped: ../shared/bench/peers/fake_openai.py is not beside the checkout"
  exit 0
fi
port="${PORT:-8098}"
python3 "$peers/fake_openai.py" "$port" "${LATENCY_MS:-50}" >/dev/null 2>&1 &
server=$!
tmp=$(mktemp -d)
trap 'kill $server 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/_stats" >/dev/null && break; sleep 0.1; done
export FAKE_OPENAI_URL="http://127.0.0.1:$port/v1" OPENAI_API_KEY=bench LLMSPELL_HOME="$tmp/home"
args=(--allow-env=FAKE_OPENAI_URL --allow-net=127.0.0.1)
echo "binary: $bin"

instr() {  # n stream -> instructions of the whole process
  valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" "$bin" run "$spell" "${args[@]}" \
    --param n="$1" --param c=10 --param stream="$2" 2>&1 >/dev/null | sed -n 's/.*Collected : //p'
}
cpu() {  # n c stream -> "cpu_seconds peak_rss_kb"
  { /usr/bin/time -f '%U %S %M' "$bin" run "$spell" "${args[@]}" --param n="$1" --param c="$2" \
      --param stream="$3" >/dev/null; } 2>&1 | tail -1 | awk '{printf "%.4f %d\n", $1 + $2, $3}'
}
median() { sort -n | sed -n "$(( (reps + 1) / 2 ))p"; }

if command -v valgrind >/dev/null; then
  echo "## instructions per model call (callgrind, n=$n1 vs n=$n2, 10 in flight)"
  for s in 0 1; do
    a=$(instr "$n1" "$s"); b=$(instr "$n2" "$s")
    awk -v a="$a" -v b="$b" -v s="$s" -v d=$(( 2 * (n2 - n1) )) \
      'BEGIN {printf "stream=%s  %.0f instructions per call  (process: %d at n1, %d at n2)\n", s, (b - a) / d, a, b}'
  done
fi

echo "## CPU per model call and peak RSS (median of $reps)"
for s in 0 1; do
  small=(); big=(); whole=()
  for _ in $(seq "$reps"); do
    small+=("$(cpu 200 50 "$s" | cut -d' ' -f1)")
    big+=("$(cpu 1000 50 "$s" | cut -d' ' -f1)")
  done
  a=$(printf '%s\n' "${small[@]}" | median); b=$(printf '%s\n' "${big[@]}" | median)
  awk -v a="$a" -v b="$b" -v s="$s" 'BEGIN {printf "stream=%s  marginal %.1f us/call  whole process %.1f us/call (n=200 c=50)\n", s, (b - a) * 1e6 / 1600, a * 1e6 / 400}'
done
for c in 50 500; do
  rss=(); for _ in $(seq "$reps"); do rss+=("$(cpu 1000 "$c" 1 | cut -d' ' -f2)"); done
  echo "peak RSS at $c in flight (n=1000, stream on): $(( $(printf '%s\n' "${rss[@]}" | median) / 1024 )) MB"
done
