-- agent.collaborate with order = "moderator": before each turn the moderator names who speaks
-- next (or DONE); a reply naming nobody gives the turn to the next in order; the moderator
-- writes the final answer. The mock replies come in the order the calls are made.
llm.configure("mock", {replies = {
  {text = "Critic, please start."},          -- moderator: pick
  {text = "The claim needs a source."},      -- critic
  {text = "writer"},                         -- moderator: pick
  {text = "Added: see the docs."},           -- writer
  {text = "Hmm, let me think."},             -- moderator: names nobody -> critic (after writer)
  {text = "Fine by me."},                    -- critic
  {text = "DONE, the writer and critic agree."},  -- moderator: done
  {text = "Final: sourced claim."},          -- moderator: final answer
}})
local writer = agent.create{name = "writer", model = "mock/script"}
local critic = agent.create{name = "critic", model = "mock/script"}
local chair = agent.create{name = "chair", model = "mock/script"}
local r = agent.collaborate({writer, critic}, "Write one claim.", {rounds = 2, moderator = chair, order = "moderator"})
for _, t in ipairs(r.transcript) do print(t.round, t.agent, t.text) end
print(r.text)
print(chair:history()[1].content:find("The participants are: writer, critic", 1, true) ~= nil)

-- The turn budget (rounds x agents) ends the discussion without a DONE.
llm.configure("mock", {replies = {
  {text = "writer"}, {text = "w1"}, {text = "writer"}, {text = "w2"}, {text = "final"},
}})
local solo = agent.create{name = "solo_chair", model = "mock/script"}
local r2 = agent.collaborate({writer}, "Go.", {rounds = 2, moderator = solo, order = "moderator"})
print(#r2.transcript, r2.transcript[2].round, r2.text)

for _, bad in ipairs({{order = "moderator"}, {order = "random", moderator = chair}}) do
  local ok, e = pcall(agent.collaborate, {writer}, "x", bad)
  print(ok, e.code, e.message)
end
