// Imported by async_results.js: a spell's own module, checked as part of it.
/** @param {number} n */
export function double(n) {
  return n * 2;
}
