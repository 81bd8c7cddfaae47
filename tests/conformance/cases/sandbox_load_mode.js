// The JavaScript analogue of load's mode: code loads only from source, and only from module files
// in the spell's directory; code from a string (eval, new Function) is refused.
import two from "./sandbox_data/one_plus_one.js";

for (const make of [() => eval("1 + 1"), () => new Function("return 1 + 1")]) {
  let refused = false;
  try { make(); } catch (e) { refused = e instanceof EvalError; }
  if (!refused) throw new Error("code from a string was run");
}
print(two);
