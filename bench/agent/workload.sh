#!/usr/bin/env bash
# The agent workload of issue #13 (two model calls and two parallel tools per run, against the
# peer benchmark's fake OpenAI server), measured three ways, stream off and on:
#   1. instructions per model call under callgrind (deterministic): the difference between a
#      process doing N2 runs and one doing N1, divided by the 2*(N2-N1) extra model calls;
#   2. CPU per model call (user+sys from /usr/bin/time), marginal the same way, and whole-process
#      as the peer harness reports it ((user+sys) / 2N at N=200, C=50);
#   3. peak RSS at 50 and at 500 runs in flight;
# and the same instructions and CPU for raw_agent, the physical floor: the same HTTP exchanges
# made with libcurl alone (bench/agent/raw_agent.c), measured in the same run.
# Needs ../shared/bench/peers/fake_openai.py beside the checkout (python3, no Node). Uses the
# release build when there is one. Knobs: N1, N2 (callgrind), REPS, PORT.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${LLMSPELL_BUILD:-$root/build/release}"
[ -x "$build/src/cli/llmspell" ] || build="$root/build/ci"
bin="$build/src/cli/llmspell"
raw="$build/bench/agent/raw_agent"
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

# The command line of one process doing N runs with C in flight: llmspell's or the floor's.
cmd() {  # who n c stream
  if [ "$1" = raw ]; then echo "$raw $FAKE_OPENAI_URL $2 $3 $4"
  else echo "$bin run $spell ${args[*]} --param n=$2 --param c=$3 --param stream=$4"; fi
}
instr() {  # who n stream -> instructions of the whole process
  valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" $(cmd "$1" "$2" 10 "$3") 2>&1 >/dev/null |
    sed -n 's/.*Collected : //p'
}
cpu() {  # who n c stream -> "cpu_seconds peak_rss_kb"
  { /usr/bin/time -f '%U %S %M' $(cmd "$1" "$2" "$3" "$4") >/dev/null; } 2>&1 | tail -1 |
    awk '{printf "%.4f %d\n", $1 + $2, $3}'
}
median() { sort -n | sed -n "$(( (reps + 1) / 2 ))p"; }

whos=(llmspell)
[ -x "$raw" ] && whos+=(raw)
if command -v valgrind >/dev/null; then
  echo "## instructions per model call (callgrind, n=$n1 vs n=$n2, 10 in flight)"
  for who in "${whos[@]}"; do
    for s in 0 1; do
      a=$(instr "$who" "$n1" "$s"); b=$(instr "$who" "$n2" "$s")
      awk -v w="$who" -v a="$a" -v b="$b" -v s="$s" -v d=$(( 2 * (n2 - n1) )) \
        'BEGIN {printf "%-8s stream=%s  %.0f instructions per call  (process: %d at n1, %d at n2)\n", w, s, (b - a) / d, a, b}'
    done
  done
fi

echo "## CPU per model call (median of $reps)"
for who in "${whos[@]}"; do
  for s in 0 1; do
    small=(); big=()
    for _ in $(seq "$reps"); do
      small+=("$(cpu "$who" 200 50 "$s" | cut -d' ' -f1)")
      big+=("$(cpu "$who" 1000 50 "$s" | cut -d' ' -f1)")
    done
    a=$(printf '%s\n' "${small[@]}" | median); b=$(printf '%s\n' "${big[@]}" | median)
    awk -v w="$who" -v a="$a" -v b="$b" -v s="$s" \
      'BEGIN {printf "%-8s stream=%s  marginal %.1f us/call  whole process %.1f us/call (n=200 c=50)\n", w, s, (b - a) * 1e6 / 1600, a * 1e6 / 400}'
  done
done
echo "## peak RSS (n=1000, stream on, median of $reps)"
for c in 50 500; do
  rss=(); for _ in $(seq "$reps"); do rss+=("$(cpu llmspell 1000 "$c" 1 | cut -d' ' -f2)"); done
  echo "llmspell at $c in flight: $(( $(printf '%s\n' "${rss[@]}" | median) / 1024 )) MB"
done
