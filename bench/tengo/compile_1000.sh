#!/usr/bin/env bash
# Compile time of a generated 1,000-line Tengo script (parse + compile + run of trivial top-level
# code) against a one-line script, with hyperfine. Uses the ci or release build of tengo_run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
run="$root/build/release/src/engines/tengo/tengo_run"
[ -x "$run" ] || run="$root/build/ci/src/engines/tengo/tengo_run"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for i in $(seq 0 249); do
  echo "f$i := func(a, b) { x := a + b * $i; if x > 10 { return x - 1 } ; return x }"
  echo "v$i := [1, 2, $i, \"s$i\"]"
  echo "m$i := {k: $i, s: \"t\", n: v$i[2]}"
  echo "r$i := f$i($i, m$i.k)"
done > "$tmp/t1000.tengo"
echo 'x := 1' > "$tmp/t1.tengo"
hyperfine -N --warmup 3 --runs 30 "$run $tmp/t1000.tengo" "$run $tmp/t1.tengo"
