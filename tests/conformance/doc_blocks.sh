#!/usr/bin/env bash
# Runs every ```lua block of README.md and docs/*.md through `llmspell exec`; each must exit 0.
# A block whose first line is `-- doc: skip` is shown only (say why on the same line); one whose
# first line is `-- doc: flags --allow-read=. ...` runs with those options (the grants it shows).
set -uo pipefail
bin=$1; root=$2
pass=0; fail=0; skip=0
for md in "$root"/README.md "$root"/docs/*.md; do
  [ -f "$md" ] || continue
  n=0
  while IFS= read -r -d $'\0' block; do
    n=$((n + 1))
    if [[ "$block" == "-- doc: skip"* ]]; then skip=$((skip + 1)); continue; fi
    flags=()
    if [[ "$block" == "-- doc: flags "* ]]; then
      first=${block%%$'\n'*}
      read -r -a flags <<< "${first#-- doc: flags }"
    fi
    if out=$(cd "$root" && "$bin" exec "${flags[@]}" "$block" 2>&1); then
      pass=$((pass + 1))
    else
      fail=$((fail + 1))
      echo "FAIL $(basename "$md") block $n:"; echo "$block"; echo "--- output"; echo "$out"
    fi
  done < <(awk '/^```lua$/{f=1; b=""; next} /^```$/{if(f){printf "%s%c", b, 0}; f=0; next} f{b=b $0 "\n"}' "$md")
done
echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
