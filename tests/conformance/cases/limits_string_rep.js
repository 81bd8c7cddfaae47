// "x".repeat(n) alone is a rope of a few nodes in V8; toUpperCase makes it one flat string of
// 2^28 bytes, far past the limit.
const s = "x".repeat(1 << 28).toUpperCase();
print(s.length);
