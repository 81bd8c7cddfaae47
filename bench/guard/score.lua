-- Reads the labelled set (JSON Lines), runs guard.scan on each text, and prints precision and
-- recall per type (a detection counts when type, offset and length all match a label).
local stats = {}
local function s(t) stats[t] = stats[t] or {tp = 0, fp = 0, fn = 0} return stats[t] end
for line in fs.read(spell.params.set):gmatch("[^\n]+") do
  local item = json.decode(line)
  local want = {}
  for _, sp in ipairs(item.spans) do want[sp.type .. ":" .. sp.offset .. ":" .. sp.length] = true end
  for _, f in ipairs(guard.scan(item.text)) do
    local key = f.type .. ":" .. f.offset .. ":" .. f.length
    if want[key] then s(f.type).tp = s(f.type).tp + 1; want[key] = nil else s(f.type).fp = s(f.type).fp + 1 end
  end
  for key in pairs(want) do local t = key:match("^[^:]+") s(t).fn = s(t).fn + 1 end
end
print(string.format("%-8s %6s %6s %6s %9s %7s", "type", "tp", "fp", "fn", "precision", "recall"))
for _, t in ipairs({"email", "phone", "card", "iban", "ip", "api_key"}) do
  local x = s(t)
  print(string.format("%-8s %6d %6d %6d %9.3f %7.3f", t, x.tp, x.fp, x.fn, x.tp / math.max(1, x.tp + x.fp), x.tp / math.max(1, x.tp + x.fn)))
end
