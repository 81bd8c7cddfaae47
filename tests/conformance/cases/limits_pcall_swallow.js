// A time stop cannot be swallowed by catch (nor by finally).
let n = 0;
for (;;) {
  try {
    (() => { for (;;) {} })();
  } catch (e) {
    // swallowed?
  } finally {
    n++;
  }
}
