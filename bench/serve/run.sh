#!/usr/bin/env bash
# Benchmarks of `llmspell serve` (docs/serve.md, issue #16): a trivial spell through POST /v1/runs
# and an echo agent (mock model) through /v1/chat/completions at 1, 50 and 500 connections with
# wrk (req/s, p50, p99); the same echo workload through a minimal Node proxy built on the official
# openai SDK (the baseline ratio); and the server's RSS per open SSE stream with 10,000 streams.
# The call log is on, as by default (a calls.db in a scratch LLMSPELL_HOME); CALL_LOG=off runs
# with LLMSPELL_CALL_LOG=off instead.
# Usage: bench/serve/run.sh [BUILD_DIR] (default build/ci). DURATION=10s WORKERS=N (default: the
# server's own default) STREAMS=N to change.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$root/build/ci}"
bin="$build/src/cli/llmspell"
duration="${DURATION:-5s}"
workers="${WORKERS:-}"
modules="$root/third_party_data/node_modules"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

export LLMSPELL_HOME="$work/home"
if [ "${CALL_LOG:-on}" = off ]; then export LLMSPELL_CALL_LOG=off; fi
mkdir -p "$work/spells/trivial" "$work/spells/echo" "$work/spells/gate"
printf 'name: trivial\n' > "$work/spells/trivial/spell.yaml"
printf 'return 1\n' > "$work/spells/trivial/main.lua"
printf 'name: echo\nserve:\n  models: [echo-agent]\n' > "$work/spells/echo/spell.yaml"
printf 'local m = spell.params.messages\nreturn llm.chat(m[#m].content, {model = "mock/echo"}).text\n' > "$work/spells/echo/main.lua"
printf 'name: gate\nparams:\n  flag: {type: string}\npermissions:\n  read: ["/"]\nlimits: {timeout_s: 600}\n' > "$work/spells/gate/spell.yaml"
printf 'spell.output("open")\nwhile not fs.exists(spell.params.flag) do sleep(0.05) end\n' > "$work/spells/gate/main.lua"

"$bin" serve --spells "$work/spells" --listen 127.0.0.1:0 ${workers:+--workers "$workers"} > "$work/serve.out" 2>"$work/serve.err" &
spid=$!
for _ in $(seq 100); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*:\([0-9]*\) (.*/\1/p' "$work/serve.out")
base="http://127.0.0.1:$port"
until curl -sf "$base/readyz" >/dev/null; do sleep 0.1; done

cat > "$work/runs.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.body = '{"spell":"trivial","wait":true}'
LUA
cat > "$work/chat.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.body = '{"model":"echo-agent","messages":[{"role":"user","content":"hello there"}]}'
LUA

# wrk's output -> "req/s p50 p99 errors"
measure() {  # URL SCRIPT CONNECTIONS
  local out threads=$(( $3 < 2 ? 1 : 2 ))
  out=$(wrk -t"$threads" -c"$3" -d"$duration" --latency -s "$2" "$1" 2>&1)
  local rps p50 p99 errs
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errs=$(awk '/Non-2xx|Socket errors/ {printf "%s ", $0}' <<<"$out")
  printf '%-28s %5s conns  %10s req/s  p50 %8s  p99 %8s  %s\n' "$4" "$3" "$rps" "$p50" "$p99" "${errs:-}"
}

echo "llmspell serve, $(sed -n 's/.*, \([0-9]*\) workers).*/\1/p' "$work/serve.out") workers, $(nproc) cores, call log ${CALL_LOG:-on}, wrk $duration per row"
for c in 1 50 500; do measure "$base/v1/runs" "$work/runs.lua" "$c" "POST /v1/runs (trivial)"; done
for c in 1 50 500; do measure "$base/v1/chat/completions" "$work/chat.lua" "$c" "chat/completions (echo)"; done

# CPU per echo request at 50 connections, by process: the parent, its workers, wrk. Sampled from
# /proc (utime + stime) over 5 s in the middle of a 7 s load, so that the workers replaced when
# wrk's last requests are cancelled at its end are not missed.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
wrk -t2 -c50 -d7s -s "$work/chat.lua" "$base/v1/chat/completions" > "$work/cpu.out" 2>&1 &
wpid=$!
sleep 1
kids=$(pgrep -P "$spid" | tr '\n' ' ')
p0=$(cpu_ticks "$spid"); r0=$(cpu_ticks "$wpid"); k0=0; for k in $kids; do k0=$((k0 + $(cpu_ticks "$k"))); done
sleep 5
p1=$(cpu_ticks "$spid"); r1=$(cpu_ticks "$wpid"); k1=0; for k in $kids; do k1=$((k1 + $(cpu_ticks "$k"))); done
wait "$wpid"
rps=$(awk '/Requests\/sec/ {print $2}' "$work/cpu.out")
hz=$(getconf CLK_TCK)
awk -v rps="$rps" -v hz="$hz" -v p=$((p1 - p0)) -v k=$((k1 - k0)) -v r=$((r1 - r0)) 'BEGIN {
  n = rps * 5; f = 1e6 / hz / n
  printf "CPU per echo request at 50 conns (%.0f req/s): parent %.0f us, workers %.0f us, wrk %.0f us, total %.0f us\n", rps, p * f, k * f, r * f, (p + k + r) * f }'

# The baseline: a minimal Node server that answers each request through the openai SDK, calling
# this same server (so the ratio is what a proxy in Node costs on top of llmspell).
if [ -f "$modules/openai/package.json" ] && command -v node >/dev/null; then
  cat > "$work/proxy.mjs" <<JS
import { createRequire } from "node:module";
import http from "node:http";
const require = createRequire("$modules/noop.js");
const OpenAI = require("openai");
const client = new OpenAI({ apiKey: "x", baseURL: "$base/v1", maxRetries: 0 });
const srv = http.createServer(async (req, res) => {
  let body = "";
  for await (const c of req) body += c;
  try {
    const r = await client.chat.completions.create(JSON.parse(body));
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(r));
  } catch (e) {
    res.writeHead(e.status || 500);
    res.end(String(e));
  }
});
srv.listen(0, "127.0.0.1", () => console.log(srv.address().port));
JS
  node "$work/proxy.mjs" > "$work/proxy.port" &
  for _ in $(seq 50); do [ -s "$work/proxy.port" ] && break; sleep 0.1; done
  pport=$(cat "$work/proxy.port")
  for c in 1 50 500; do measure "http://127.0.0.1:$pport/v1/chat/completions" "$work/chat.lua" "$c" "node openai proxy (echo)"; done
  kill %2 2>/dev/null || true
fi

# RSS per open SSE stream: 10,000 clients on one run's events.
streams="${STREAMS:-10000}"
id=$(curl -s -XPOST "$base/v1/runs" -d "{\"spell\":\"gate\",\"params\":{\"flag\":\"$work/flag\"}}" | sed 's/.*"id":"\([^"]*\)".*/\1/')
rss0=$(awk '/VmRSS/ {print $2}' /proc/$spid/status)
node -e '
const net = require("net");
const [port, path, n] = [Number(process.argv[1]), process.argv[2], Number(process.argv[3])];
let open = 0;
for (let i = 0; i < n; i++) {
  const s = net.connect(port, "127.0.0.1", () => s.write(`GET ${path} HTTP/1.1\r\nhost: b\r\n\r\n`));
  let seen = false;
  s.on("data", (d) => { if (!seen && d.toString().includes("open")) { seen = true; if (++open === n) console.log("open"); } });
  s.on("error", (e) => { console.error(e.message); process.exit(1); });
}
setInterval(() => {}, 1000);
' "$port" "/v1/runs/$id/events" "$streams" > "$work/sse.out" 2>&1 &
npid=$!
for _ in $(seq 600); do grep -q open "$work/sse.out" 2>/dev/null && break; sleep 0.1; done
rss1=$(awk '/VmRSS/ {print $2}' /proc/$spid/status)
echo "SSE: $streams streams open: server RSS ${rss0} kB -> ${rss1} kB, $(( (rss1 - rss0) * 1024 / streams )) bytes per stream ($(cat "$work/sse.out" | head -1))"
touch "$work/flag"
kill $npid 2>/dev/null || true
kill -TERM $spid
wait $spid 2>/dev/null || true
