-- models.refresh caches the provider's list in the data directory; the catalog includes it.
local list = models.refresh("gemini")
print(#list, list[1].id)
local m = models.info("gemini/gemini-9-experimental")
print(m.source, m.context_window, m.max_output)
print(models.info("gemini/gemini-2.5-flash").source)
