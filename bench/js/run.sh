#!/usr/bin/env bash
# JavaScript engine benchmarks (issue #12), each next to its baseline measured in the same run:
#   1. whole-process start-up and peak RSS: `exec --engine js 'return 1'` vs the Lua engine;
#   2. recursive fib(30) in a JS spell vs the same file under the machine's `node`;
#   3. a trivial host call through the registry vs a raw V8 FunctionCallback (Google Benchmark,
#      bench/engines/js_bench);
#   4. the peer benchmark's agent workload (200 runs, 50 in flight, stream off/on, against
#      ../shared/bench/peers/fake_openai.py): CPU per model call of the JS spell vs the Lua one.
# Use the release build when there is one (cmake --preset release && cmake --build --preset release).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${LLMSPELL_BUILD:-$root/build/release}"
[ -x "$build/src/cli/llmspell" ] || build="$root/build/ci"
bin="$build/src/cli/llmspell"
here="$root/bench/js"
reps="${REPS:-3}"

echo "## start-up (hyperfine, 30 runs)"
hyperfine -N --warmup 3 --runs 30 "$bin exec --engine js 'return 1'" "$bin exec 'return 1'" 2>&1 | grep -E "Benchmark|Time|faster|±"
for e in js lua; do
  code='return 1'
  /usr/bin/time -f "peak RSS $e: %M KB" "$bin" exec --engine "$e" "$code" >/dev/null
done

echo "## fib(30)"
for i in $(seq "$reps"); do
  "$bin" run "$here/fib.js"
  node "$here/fib.js" | sed 's/^/node: /'
done

if [ -x "$build/bench/engines/js_bench" ]; then
  echo "## host call vs raw V8 callback"
  "$build/bench/engines/js_bench" --benchmark_min_time=0.5 2>&1 | grep -E "^BM_|^---|Benchmark"
fi

peers="$root/../shared/bench/peers"
if [ ! -f "$peers/fake_openai.py" ]; then
  echo "## agent workload: skipped (../shared/bench/peers is not beside the checkout)"
  exit 0
fi
echo "## agent workload: N=200 C=50, CPU per model call (median of $reps)"
port="${PORT:-8097}"
python3 "$peers/fake_openai.py" "$port" 50 >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/_stats" >/dev/null && break; sleep 0.1; done
export FAKE_OPENAI_URL="http://127.0.0.1:$port/v1" OPENAI_API_KEY=bench
measure() {  # engine spell stream -> "cpu_us_per_call rss_mb"
  local spell=$1 stream=$2 out
  out=$( { /usr/bin/time -f '%e %U %S %M' "$bin" run "$spell" --allow-env=FAKE_OPENAI_URL --allow-net=127.0.0.1 \
      --param n=200 --param c=50 --param "stream=$stream" >/dev/null; } 2>&1 | tail -1)
  python3 -c "import sys; e,u,s,m = map(float, sys.argv[1].split()); print(f'{(u+s)*1e6/400:.0f} {m/1024:.0f}')" "$out"
}
for stream in 0 1; do
  for pair in "lua:$peers/clients/llmspell_agent.lua" "js:$here/agent_peer.js"; do
    name=${pair%%:*}; spell=${pair#*:}
    rows=()
    for i in $(seq "$reps"); do rows+=("$(measure "$spell" "$stream")"); done
    printf '%s\n' "${rows[@]}" | sort -n | sed -n "$(( (reps + 1) / 2 ))p" |
      awk -v n="$name" -v s="$stream" '{printf "%-4s stream=%s  %s us/call  peak RSS %s MB\n", n, s, $1, $2}'
  done
done
