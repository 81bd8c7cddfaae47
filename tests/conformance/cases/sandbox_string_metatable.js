// Each spell has its own realm, so it may replace built-in methods for itself; what must not
// change is the host's own behaviour: print does not run the spell's replacements of the array
// and string methods.
const join = Array.prototype.join;
Array.prototype.join = function () { return "changed"; };
// @ts-expect-error: a replacement of the wrong type, on purpose
Array.prototype.map = function () { return ["changed"]; };
String.prototype.concat = function () { return "changed"; };
print("string methods:", "unchanged");
Array.prototype.join = join;
print("abc".toUpperCase());
