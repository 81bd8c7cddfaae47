#!/usr/bin/env bash
# guard.scan's precision and recall per type on a seeded synthetic labelled set (make_set.py),
# and guard.redact's throughput on 1 MB of text.   usage: bench/guard/run.sh [N] [SEED]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="${LLMSPELL_BIN:-$root/build/release/src/cli/llmspell}"
[ -x "$bin" ] || bin="$root/build/ci/src/cli/llmspell"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$root/bench/guard/make_set.py" "${1:-2000}" "${2:-7}" > "$tmp/set.jsonl"
"$bin" run "$root/bench/guard/score.lua" --allow-read "$tmp" -p set="$tmp/set.jsonl"
"$bin" run "$root/bench/guard/throughput.lua" --allow-read "$tmp" -p set="$tmp/set.jsonl"
