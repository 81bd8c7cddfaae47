-- Several agents: a writer and a critic discuss a task for two rounds and an editor
-- (the moderator) writes the final answer; then the editor delegates a follow-up to the
-- writer. Offline: each agent's turns come from the mock script, in the order they speak.
llm.configure("mock", {replies = {
  {text = "Draft: llmspell runs spells."},                          -- writer, round 1
  {text = "Say what a spell is."},                                  -- critic, round 1
  {text = "Draft: llmspell runs scripts that drive LLMs."},         -- writer, round 2
  {text = "Good. Mention the three languages."},                    -- critic, round 2
  {text = "llmspell runs Lua, JavaScript and Tengo scripts that drive LLMs."},  -- editor
  {text = "Spells are small scripts."},                             -- writer, delegated
}})

local writer = agent.create{name = "writer", model = "mock/script", system = "You write one sentence."}
local critic = agent.create{name = "critic", model = "mock/script", system = "You criticise briefly."}
local editor = agent.create{name = "editor", model = "mock/script", system = "You decide."}

local r = agent.collaborate({writer, critic}, "Describe llmspell in one sentence.",
                            {rounds = 2, moderator = editor})
for _, turn in ipairs(r.transcript) do
  print(("round %d %s: %s"):format(turn.round, turn.agent, turn.text))
end
print("final: " .. r.text)

local d = agent.delegate("editor", "writer", "Define a spell in five words.")
print(d.from .. " -> " .. d.to .. ": " .. d.text)
print("agents: " .. #agent.list())
