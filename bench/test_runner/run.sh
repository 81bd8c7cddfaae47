#!/usr/bin/env bash
# `llmspell test` over N small generated test files (default 200, five tests each) against
# running each file with `llmspell run` in a shell loop, in the same hyperfine run. Each file
# ends with `return test.run()`, so the loop runs the same tests (under `llmspell test` the
# second test.run, the runner's, returns the report the first made).
#   bench/test_runner/run.sh [N] [JOBS]   (JOBS: --jobs for llmspell test; default the cores)
# Needs hyperfine. Uses the release build when there is one, else build/ci.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="${LLMSPELL_BIN:-$root/build/release/src/cli/llmspell}"
[ -x "$bin" ] || bin="$root/build/ci/src/cli/llmspell"
n="${1:-200}"
jobs="${2:-}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for i in $(seq 1 "$n"); do
  cat > "$tmp/f${i}_test.lua" <<LUA
test.describe("file $i", function()
  test.it("adds", function() test.expect($i + 1).to_equal($((i + 1))) end)
  test.it("tables", function() test.expect({n = $i, tags = {"a", "b"}}).to_equal({n = $i, tags = {"a", "b"}}) end)
  test.it("strings", function() test.expect("item-$i").to_match("^item-\\\\d+\$") end)
  test.it("throws", function() test.expect(function() json.decode("{") end).to_throw("invalid_argument") end)
  test.it("schema", function() test.expect({id = $i}).to_satisfy_schema({type = "object", required = {"id"}}) end)
end)
local r = test.run()
assert(r.failed == 0, json.encode(r))
return r.passed
LUA
done
# Both must pass before they are timed.
"$bin" test ${jobs:+--jobs "$jobs"} "$tmp" | tail -2
for f in "$tmp"/*_test.lua; do "$bin" run "$f" >/dev/null; done
echo "cores: $(nproc); files: $n; binary: $bin"
hyperfine --warmup 1 --runs "${RUNS:-5}" --export-markdown /dev/stdout \
  -n "llmspell test (${jobs:-$(nproc)} jobs)" "$bin test ${jobs:+--jobs $jobs} $tmp" \
  -n "llmspell run, one file after another" "for f in $tmp/*_test.lua; do $bin run \$f >/dev/null || exit 1; done"
