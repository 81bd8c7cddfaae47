#!/usr/bin/env bash
# Regenerates the reference docs from the registry of a built `llmspell` binary:
#   docs/reference.md        the API reference (Markdown, grouped by namespace)
#   docs/reference.json      the same, machine-readable
#   docs/llmspell.meta.lua   LuaLS stubs for editor completion (add docs/ to Lua.workspace.library)
#   docs/llmspell.d.ts       TypeScript declarations for JavaScript spells (completion, // @ts-check)
#   docs/engine_coverage.md  which engines pass a conformance case calling each function (runs
#                            the conformance suite with the build's conformance_runner)
# Usage: scripts/gen_docs.sh [path/to/llmspell]   (default: the first build/*/src/cli/llmspell)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${1:-}"
if [ -z "$bin" ]; then
  for b in "$root"/build/*/src/cli/llmspell; do
    [ -x "$b" ] && { bin="$b"; break; }
  done
fi
[ -n "$bin" ] && [ -x "$bin" ] || { echo "gen_docs: no llmspell binary; build target llmspell or pass its path" >&2; exit 2; }
"$bin" docs --format md > "$root/docs/reference.md"
"$bin" docs --format json > "$root/docs/reference.json"
"$bin" docs --format lua-meta > "$root/docs/llmspell.meta.lua"
"$bin" docs --format dts > "$root/docs/llmspell.d.ts"
echo "gen_docs: wrote docs/reference.md, docs/reference.json, docs/llmspell.meta.lua, docs/llmspell.d.ts from $bin"
runner="$(dirname "$bin")/../../tests/conformance/conformance_runner"
if [ -x "$runner" ]; then
  home="$(mktemp -d)"
  LLMSPELL_HOME="$home" "$runner" --bin "$bin" --coverage-write "$root/docs/engine_coverage.md" "$root/tests/conformance/cases" | tail -2
  rm -rf "$home"
else
  echo "gen_docs: no conformance_runner beside $bin; docs/engine_coverage.md not regenerated" >&2
fi
