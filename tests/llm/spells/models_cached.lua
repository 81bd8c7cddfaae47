-- A later run: the cached list is part of the catalog without a refresh.
local m = models.info("gemini/gemini-9-experimental")
print(m.source, m.context_window)
local n = 0
for _, x in ipairs(models.list("gemini")) do if x.source == "listed" then n = n + 1 end end
print("listed", n)
