// test.only: the file's other tests are reported skipped.
test.it("a", () => { throw new Error("must not run"); });
test.only("b", () => { test.expect(1).toBe(1); });
const report = await test.run();
for (const t of report.tests) console.log(t.name + ": " + t.status);
