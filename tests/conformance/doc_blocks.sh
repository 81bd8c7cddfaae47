#!/usr/bin/env bash
# Runs every ```lua, ```tengo and ```js block of README.md and docs/*.md through `llmspell exec`; each
# must exit 0.
# A block whose first line is `-- doc: skip` is shown only (say why on the same line); one whose
# first line is `-- doc: flags --allow-read=. ...` runs with those options (the grants it shows).
set -uo pipefail
bin=$1; root=$2
pass=0; fail=0; skip=0
for md in "$root"/README.md "$root"/docs/*.md; do
  [ -f "$md" ] || continue
  n=0
  while IFS= read -r -d $'\0' tagged; do
    n=$((n + 1))
    lang=${tagged%%$'\n'*}; block=${tagged#*$'\n'}
    # Tengo and JavaScript comments are `//`: the same directives as `// doc: ...`.
    directive=${block/#\/\/ doc:/-- doc:}
    if [[ "$directive" == "-- doc: skip"* ]]; then skip=$((skip + 1)); continue; fi
    flags=(--engine "$lang")
    if [[ "$directive" == "-- doc: flags "* ]]; then
      first=${directive%%$'\n'*}
      read -r -a more <<< "${first#-- doc: flags }"
      flags+=("${more[@]}")
    fi
    if out=$(cd "$root" && "$bin" exec "${flags[@]}" "$block" 2>&1); then
      pass=$((pass + 1))
    else
      fail=$((fail + 1))
      echo "FAIL $(basename "$md") block $n:"; echo "$block"; echo "--- output"; echo "$out"
    fi
  done < <(awk '/^```(lua|tengo|js)$/{f=1; b=substr($0, 4) "\n"; next} /^```$/{if(f){printf "%s%c", b, 0}; f=0; next} f{b=b $0 "\n"}' "$md")
done
echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
