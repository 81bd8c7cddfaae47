-- A research workflow: fetch three sources at the same time, then have an agent summarize them.
-- Runs offline: the fetches are simulated with sleep (swap in tools.call("web_fetch", ...) and
-- --allow-net for real pages), and the model is mock/script with scripted replies. Pass
-- --model openai/gpt-4o-mini (with OPENAI_API_KEY) for a real summary.
local model = spell.config("model", "mock/script")
if model == "mock/script" then
  llm.configure("mock", {replies = {
    {text = "Spells are short scripts; workflows compose their steps; agents call tools.",
     usage = {input_tokens = 42, output_tokens = 14}},
  }})
end

local sources = {
  {name = "spells", url = "https://example.org/spells", delay = 0.05,
   text = "A spell is a short script that drives models."},
  {name = "workflows", url = "https://example.org/workflows", delay = 0.08,
   text = "Workflows run steps in sequence or in parallel."},
  {name = "agents", url = "https://example.org/agents", delay = 0.03,
   text = "Agents loop between a model and its tools."},
}

-- One fetch step per source; each waits like a network call would. `in_flight` counts the
-- fetches waiting at the same moment.
local in_flight, most_in_flight = 0, 0
local fetches = {}
for _, s in ipairs(sources) do
  fetches[#fetches + 1] = {name = s.name, timeout = 5, on_error = {retry = 1}, run = function(topic)
    in_flight = in_flight + 1
    most_in_flight = math.max(most_in_flight, in_flight)
    sleep(s.delay)
    in_flight = in_flight - 1
    return {url = s.url, text = s.text}
  end}
end

-- The summarizer is an agent; as a workflow step it gets the previous step's output as its
-- input and passes on its answer text (its tokens count in the run's usage).
local summarizer = agent.create{name = "summarizer", model = model,
                                system = "Summarize research notes in one sentence."}

local research = workflow.sequential{name = "research", steps = {
  workflow.parallel{name = "fetch", steps = fetches, merge = "object"},
  {name = "notes", run = function(pages)
    local notes = {}
    for _, name in ipairs({"spells", "workflows", "agents"}) do
      notes[#notes + 1] = "- " .. pages[name].text .. " (" .. pages[name].url .. ")"
    end
    return "Summarize these notes:\n" .. table.concat(notes, "\n")
  end},
  summarizer,
}}

local events_seen = 0
events.on("workflow.step", function() events_seen = events_seen + 1 end)

local r = research:run("llmspell")

print("status: " .. r.status)
print("summary: " .. r.output)
for _, s in ipairs(r.steps) do
  print(string.format("step %s: %s", s.name, s.status))
  for _, inner in ipairs(s.steps or {}) do print(string.format("  %s: %s", inner.name, inner.status)) end
end
-- The three fetches overlapped: all three were waiting at once.
print("fetches in flight together: " .. most_in_flight)
print("tokens: " .. r.usage.total_tokens)
sleep(0)
print("workflow.step events: " .. events_seen)
