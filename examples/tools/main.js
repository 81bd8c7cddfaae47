// Tools: built-in ones (file_read, csv_parse, calculator, json_query, text_template) and one
// defined here, chained into a report. The spell may read only ./data (spell.yaml).
const dir = spell.context().spell_dir;

// A tool of our own, with a schema: bad arguments never reach run().
tools.define({
  name: "revenue",
  description: "Total revenue of sales rows, optionally for one product",
  parameters: {
    type: "object",
    properties: {rows: {type: "array"}, product: {type: "string"}},
    required: ["rows"],
  },
  run: async (args) => {
    let total = 0;
    for (const r of args.rows) {
      if (args.product === undefined || args.product === null || r.product === args.product) {
        total += (await tools.call("calculator", {expression: "units * price",
                                                   variables: {units: r.units, price: r.price}})).result;
      }
    }
    return {total};
  },
});

// file_read -> csv_parse as a pipeline.
const sales = await tools.pipeline([
  {tool: "file_read", args: {path: dir + "/data/sales.csv"}},
  (file) => ({text: file.content, numbers: true}),
  "csv_parse",
]);
print("rows:", sales.count, "columns:", sales.columns.join(","));

const all = (await tools.call("revenue", {rows: sales.rows})).total;
const gadgets = (await tools.call("revenue", {rows: sales.rows, product: "gadget"})).total;
const north = await tools.call("json_query", {data: sales.rows, query: "$[?(@.region == 'north')].units"});

print((await tools.call("text_template", {
  template: "Revenue {{all}} ({{gadgets}} from gadgets); north sold {{north.1}} + {{north.2}} units",
  vars: {all, gadgets, north: north.matches},
})).text);

const bad = await tools.tryCall("revenue", {rows: "not a list"});
print("bad call:", bad.error.code, bad.error.message);
const outside = await tools.tryCall("file_read", {path: dir + "/main.js"});
print("outside ./data:", outside.error.code);
