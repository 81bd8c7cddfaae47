-- guard.redact throughput on about 1 MB of mixed text (the labelled set's sentences repeated).
local base = {}
for line in fs.read(spell.params.set):gmatch("[^\n]+") do base[#base + 1] = json.decode(line).text end
local text = table.concat(base, "\n")
while #text < (1 << 20) do text = text .. "\n" .. text end
text = text:sub(1, 1 << 20)
local reps = tonumber(spell.params.reps or "5")
local t0 = time.monotonic()
for _ = 1, reps do guard.redact(text) end
local secs = (time.monotonic() - t0) / reps
print(string.format("guard.redact: %.2f MB in %.1f ms = %.1f MB/s", #text / 1e6, secs * 1000, #text / 1e6 / secs))
