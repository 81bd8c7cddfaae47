// Not loaded by loop.js: run.sh sets a breakpoint here ("a breakpoint in an unrelated file").
export function unrelated() {
  return 1;
}
