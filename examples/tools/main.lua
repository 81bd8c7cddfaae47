-- Tools: built-in ones (file_read, csv_parse, calculator, json_query, text_template) and one
-- defined here, chained into a report. The spell may read only ./data (spell.yaml).
local dir = spell.context().spell_dir

-- A tool of our own, with a schema: bad arguments never reach run().
tools.define{
  name = "revenue",
  description = "Total revenue of sales rows, optionally for one product",
  parameters = {
    type = "object",
    properties = {rows = {type = "array"}, product = {type = "string"}},
    required = {"rows"},
  },
  run = function(args)
    local total = 0
    for _, r in ipairs(args.rows) do
      if args.product == nil or r.product == args.product then
        total = total + tools.call("calculator", {expression = "units * price",
                                                  variables = {units = r.units, price = r.price}}).result
      end
    end
    return {total = total}
  end,
}

-- file_read -> csv_parse as a pipeline.
local sales = tools.pipeline({
  {tool = "file_read", args = {path = dir .. "/data/sales.csv"}},
  function(file) return {text = file.content, numbers = true} end,
  "csv_parse",
})
print("rows:", sales.count, "columns:", table.concat(sales.columns, ","))

local all = tools.call("revenue", {rows = sales.rows}).total
local gadgets = tools.call("revenue", {rows = sales.rows, product = "gadget"}).total
local north = tools.call("json_query", {data = sales.rows, query = "$[?(@.region == 'north')].units"})

print(tools.call("text_template", {
  template = "Revenue {{all}} ({{gadgets}} from gadgets); north sold {{north.1}} + {{north.2}} units",
  vars = {all = all, gadgets = gadgets, north = north.matches},
}).text)

local bad = tools.try_call("revenue", {rows = "not a list"})
print("bad call:", bad.error.code, bad.error.message)
local outside = tools.try_call("file_read", {path = dir .. "/main.lua"})
print("outside ./data:", outside.error.code)
