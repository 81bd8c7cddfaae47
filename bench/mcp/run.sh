#!/usr/bin/env bash
# An MCP tools/call round trip to the stdio server-everything: llmspell's client against the
# official TypeScript SDK client (@modelcontextprotocol/sdk), same server, same machine, same run.
# Needs node and scripts/setup.sh's npm packages (third_party_data/node_modules). Knobs: N, REPS.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${LLMSPELL_BUILD:-$root/build/release}"
[ -x "$build/src/cli/llmspell" ] || build="$root/build/ci"
bin="$build/src/cli/llmspell"
mods="$root/third_party_data/node_modules"
server="$mods/.bin/mcp-server-everything"
n="${N:-1000}" reps="${REPS:-3}"
if ! command -v node >/dev/null || [ ! -x "$server" ]; then
  echo "skipped: needs node and $server (scripts/setup.sh)"
  exit 0
fi
path="$(dirname "$(command -v node)"):/usr/bin:/bin"
for _ in $(seq "$reps"); do
  "$bin" run --allow-run "$root/bench/mcp/roundtrip.lua" --param server="$server" --param n="$n" --param path="$path"
  node "$root/bench/mcp/sdk_client.mjs" "$server" "$n" "$mods"
done
