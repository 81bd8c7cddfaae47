#!/usr/bin/env bash
# Installs every Debian package llmspell's build and tests need.
# Idempotent and non-interactive; when everything is present it only runs dpkg-query.
set -euo pipefail

PACKAGES=(
  build-essential g++ cmake ninja-build ccache pkg-config
  liblua5.4-dev lua5.4
  libboost-dev libboost-system-dev
  libcurl4-openssl-dev
  nlohmann-json3-dev libsimdjson-dev libyaml-cpp-dev libcli11-dev
  libfmt-dev libspdlog-dev
  libsqlite3-dev sqlite3
  libsodium-dev libssl-dev libre2-dev
  libhowardhinnant-date-dev tzdata  # Tengo's named time zones, from the system's tz database
  libgtest-dev libgmock-dev libbenchmark-dev
  libedit-dev  # the REPL's line editing, history and completion (BSD-licensed editline)
  lua-check    # `llmspell check`: luacheck's scope analysis of Lua spells
  python3-jsonschema  # tests: tool schemas sent to providers checked against the JSON Schema meta-schema
  python3-prometheus-client  # tests: metrics.prometheus() read by the Prometheus client's own parser
  libpq-dev postgresql   # state/queue backend (libpq); tests start a throwaway cluster (initdb, pg_ctl)
  libhiredis-dev redis-server  # state backend (hiredis); tests start a redis-server on loopback
  prometheus   # tests: `promtool check metrics` on the service's /metrics
  wrk          # bench/serve: HTTP load
  hyperfine clang-format clang-tidy
  clang libclang-rt-dev  # only for the `fuzz` preset (libFuzzer, sanitizers); the rest uses GCC
  # What Debian's libnode108 (V8 for JavaScript spells, below) links against.
  libuv1 libc-ares2 libnghttp2-14 libbrotli1 libicu72 libssl3 zlib1g
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# npm installs the tokenizer data below (the nodejs package may already bring it).
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# V8 for JavaScript spells: Debian 12's libnode (Node 18.20, V8 10.2). The normal install comes
# first; where it is refused (an image whose NodeSource nodejs conflicts with libnode108; apt
# must never remove it, hence --no-remove), Debian's own libnode108 and libnode-dev packages are
# unpacked into the checkout's third_party_data/libnode (ignored by git). CMake builds against
# whichever holds V8 10.2 headers and a libnode.so.108 (cmake/FindLibnode.cmake).
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
libnode_dir="$root/third_party_data/libnode"
libnode_ok() {
  [ -f "$1/include/node/v8-version.h" ] && [ -e "$1/lib/x86_64-linux-gnu/libnode.so.108" ] &&
    grep -q "define V8_MAJOR_VERSION 10" "$1/include/node/v8-version.h"
}
if ! libnode_ok /usr && ! libnode_ok "$libnode_dir/usr"; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  if ! $SUDO apt-get install -y -qq --no-install-recommends --no-remove libnode-dev >/dev/null 2>&1 || ! libnode_ok /usr; then
    echo "setup: libnode-dev cannot be installed normally here; unpacking Debian's libnode108 and libnode-dev into third_party_data/libnode" >&2
    tmp="$(mktemp -d)"
    chmod 755 "$tmp"
    (cd "$tmp" && apt-get download libnode108 libnode-dev >/dev/null 2>&1) ||
      { $SUDO apt-get update -qq && (cd "$tmp" && apt-get download libnode108 libnode-dev >/dev/null); }
    rm -rf "$libnode_dir"
    mkdir -p "$libnode_dir"
    for f in "$tmp"/*.deb; do dpkg-deb -x "$f" "$libnode_dir"; done
    rm -rf "$tmp"
    libnode_ok "$libnode_dir/usr" || { echo "setup: unpacking libnode failed" >&2; exit 1; }
  fi
fi

# From npm, into the checkout's third_party_data/ (ignored by git; nothing is copied into the
# repository), in ONE `npm install`: an install with --no-save removes what an earlier one left.
#  - tiktoken: OpenAI's BPE rank files (cl100k_base, o200k_base, encoders/*.json).
#    llm.count_tokens reads them at run time for exact counts (src/llm/tokenizer.cpp); without
#    them it estimates.
#  - typescript: the compiler the test suite type-checks JavaScript spells with, against the
#    declarations `llmspell docs --format dts` writes (tests/cli/dts_test.cpp); without it that
#    test is skipped. 5.x: the last line written in JavaScript (7.x is a native binary per platform).
#  - tap-parser: the test suite checks `llmspell test --format tap` with a TAP parser we did not write.
#  - @vscode/debugadapter-testsupport: the DAP client the suite drives `llmspell dap` with.
#  - jose: a JWT library we did not write, to check auth.jwt_sign/jwt_verify against, both ways.
#  - @modelcontextprotocol/server-everything and server-filesystem: MCP servers the MCP client is
#    tested against; @modelcontextprotocol/sdk: the MCP client `llmspell mcp serve` is tested with.
#  - openai: the official OpenAI client, driven against `llmspell serve`'s OpenAI-compatible API.
#  - autocannon: HTTP load generator for bench/serve (alongside wrk).
tk_version=1.0.22
ts_version=5.9.3
tap_version=18.3.4
dap_version=1.68.0
jose_version=6.2.19
mcp_servers_version=2026.8.31
mcp_sdk_version=1.32.2
openai_version=6.30.1  # 7.x needs Node >= 22
autocannon_version=9.0.0
npm_ok() {  # name version
  grep -q "\"version\": \"$2\"" "$root/third_party_data/node_modules/$1/package.json" 2>/dev/null
}
if [ ! -f "$root/third_party_data/node_modules/tiktoken/encoders/o200k_base.json" ] ||
   ! npm_ok tiktoken "$tk_version" || ! npm_ok typescript "$ts_version" ||
   ! npm_ok tap-parser "$tap_version" || ! npm_ok @vscode/debugadapter-testsupport "$dap_version" ||
   ! npm_ok jose "$jose_version" || ! npm_ok @modelcontextprotocol/server-everything "$mcp_servers_version" ||
   ! npm_ok @modelcontextprotocol/server-filesystem "$mcp_servers_version" ||
   ! npm_ok @modelcontextprotocol/sdk "$mcp_sdk_version" || ! npm_ok openai "$openai_version" ||
   ! npm_ok autocannon "$autocannon_version"; then
  echo "setup: installing tokenizer data (npm tiktoken@$tk_version) and the npm packages the tests use into third_party_data/" >&2
  mkdir -p "$root/third_party_data"
  npm install --prefix "$root/third_party_data" --no-save --no-audit --no-fund --ignore-scripts \
    "tiktoken@$tk_version" "typescript@$ts_version" "tap-parser@$tap_version" \
    "@vscode/debugadapter-testsupport@$dap_version" "jose@$jose_version" \
    "@modelcontextprotocol/server-everything@$mcp_servers_version" \
    "@modelcontextprotocol/server-filesystem@$mcp_servers_version" "@modelcontextprotocol/sdk@$mcp_sdk_version" \
    "openai@$openai_version" "autocannon@$autocannon_version" >/dev/null ||
    echo "setup: npm install failed; llm.count_tokens will estimate and the tests that need these packages are skipped" >&2
fi
