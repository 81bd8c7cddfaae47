#!/usr/bin/env bash
# Runs one fuzz target of the `fuzz` preset for SECONDS (default 600), single process, niced
# (FUZZ_NICE=0 on a machine kept for fuzzing).
#   tests/fuzz/run.sh TARGET [SECONDS] [libFuzzer flags...]
# TARGET is json, yaml, manifest, sse_codecs, ndjson_codecs, net_sse, net_ndjson, tengo,
# tengo_parser or lua (build/fuzz/tests/fuzz/fuzz_TARGET). The seed corpus is rebuilt from the
# repository each run (tests/fuzz/seeds.py); what the fuzzer adds is kept in
# build/fuzz/corpus/TARGET, crashes and hangs in build/fuzz/findings/TARGET, the log in
# build/fuzz/TARGET.log. Reproduce a finding with: build/fuzz/tests/fuzz/fuzz_TARGET FILE
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
target="${1:?usage: run.sh TARGET [SECONDS] [libFuzzer flags...]}"
seconds="${2:-600}"
shift $(( $# >= 2 ? 2 : 1 ))
bin="$root/build/fuzz/tests/fuzz/fuzz_$target"
if [ ! -x "$bin" ]; then
  echo "run.sh: $bin is missing; build it with: cmake --preset fuzz && cmake --build --preset fuzz" >&2
  exit 2
fi
work="$root/build/fuzz"
seeds="$(mktemp -d)"
trap 'rm -rf "$seeds"' EXIT
python3 "$root/tests/fuzz/seeds.py" "$target" "$seeds" >/dev/null
mkdir -p "$work/corpus/$target" "$work/findings/$target"
extra=()
case "$target" in
  lua|tengo) extra+=(-close_fd_mask=1) ;;  # spells print: keep the fuzzer's own output readable
esac
if [ -f "$root/tests/fuzz/$target.dict" ]; then extra+=("-dict=$root/tests/fuzz/$target.dict"); fi
# Spells run in a scratch folder: a spell with no grants reads and writes nothing, but the
# runner's current directory is its exec directory.
scratch="$(mktemp -d)"
trap 'rm -rf "$seeds" "$scratch"' EXIT
cd "$scratch"
# -timeout: one input may take 10 s (the spell limits are 2 s; teardown included).
# -rss_limit_mb: the spells' memory caps are 32 MiB; 2 GB means a cap did not hold.
nice -n "${FUZZ_NICE:-19}" "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/findings/$target/" "${extra[@]}" "$@" "$work/corpus/$target" "$seeds" \
  2>&1 | tee "$work/$target.log"
