-- An event-driven spell: handlers react to events, one waits for an event with a timeout, and
-- the runtime's own events (llm.response here) arrive on the same bus.
local orders = 0
events.on("order.*", function(e)
  orders = orders + 1
  print("handler: " .. e.name .. " #" .. e.data.id)
end)
events.once("order.created", function(e) print("first order only: #" .. e.data.id) end)

local tokens = 0
events.on("llm.response", function(e) tokens = tokens + e.data.usage.total_tokens end)

-- A producer in its own coroutine; the main flow waits for the shipment.
spawn(function()
  for id = 1, 3 do
    events.emit("order.created", {id = id})
    sleep(0.01)
  end
  events.emit("order.shipped", {id = 3})
end)
local shipped = events.wait("order.shipped", {timeout = 5})
print("waited for: " .. shipped.name .. " #" .. shipped.data.id)

llm.chat("ping", {model = "mock/echo"})
sleep(0) -- let the handlers run
print("orders seen: " .. orders .. ", llm tokens seen: " .. (tokens > 0 and "yes" or "no"))
local ok, err = pcall(events.wait, "never.happens", {timeout = 0.05})
print("wait timeout: " .. err.code)
