#!/usr/bin/env bash
# Refuses an #include that points from a lower layer to a higher one (DESIGN.md's layers; each
# layer may include only the layers listed before it).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
layers=(core runtime events hooks state net structured llm tools agent workflow durable observe bridge engines spell serve cli)
rank() { local i; for i in "${!layers[@]}"; do [ "${layers[$i]}" = "$1" ] && { echo "$i"; return; }; done; echo -1; }
bad=0
for dir in "$root"/src/* "$root"/include/llmspell/*; do
  [ -d "$dir" ] || continue
  layer=$(basename "$dir")
  r=$(rank "$layer")
  [ "$r" -ge 0 ] || continue
  while IFS= read -r line; do
    file=${line%%:*}
    inc=$(sed -E 's/.*#include *"(llmspell\/)?([a-z_]+)\/.*/\2/' <<<"${line#*:}")
    ir=$(rank "$inc")
    if [ "$ir" -gt "$r" ]; then
      echo "layer violation: $file (layer $layer) includes $inc, a higher layer" >&2
      bad=1
    fi
  done < <(grep -rHE '^#include *"(llmspell/)?[a-z_]+/' "$dir" --include='*.hpp' --include='*.cpp' --include='*.h' || true)
done
[ $bad = 0 ] && echo "layers: ok"
exit $bad
