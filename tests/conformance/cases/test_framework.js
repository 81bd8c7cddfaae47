// The test namespace in-process: describe/it, hooks, matchers and their negation, a test that
// waits, skip, to_throw, a spy standing in through test.mock, and test.run's report.
const log = [];
test.describe("suite", () => {
  test.beforeAll(() => { log.push("all"); });
  test.afterAll(() => { log.push("done"); });
  test.beforeEach(() => { log.push("before"); });
  test.afterEach(() => { log.push("after"); });
  test.it("passes", () => {
    test.expect({a: 1, b: ["x"]}).toEqual({a: 1, b: ["x"]});
    test.expect("hello").toMatch("^he");
    test.expect("hello").toContain("ell");
    test.expect([1, 2, 3]).toHaveLength(3);
    test.expect(0.1 + 0.2).toBeCloseTo(0.3);
    test.expect(false).not.toBeTruthy();
    test.expect("x").toBeTruthy();
    test.expect({n: 1}).toSatisfySchema({type: "object", required: ["n"]});
  });
  test.it("fails", () => { test.expect({a: 1}).toEqual({a: 2}); });
  test.it("waits", async () => { await sleep(0.01); test.expect(1).toBe(1); });
  test.skip("later");
  test.it("throws", async () => {
    await test.expect(() => json.decode("{")).toThrow("invalid_argument");
  });
  test.it("mocks", () => {
    const s = test.spy(() => "mocked");
    test.mock("json.encode", s);
    test.expect(json.encode([1])).toBe("mocked");
    test.expect(s).toHaveBeenCalled(1);
    test.expect(s).toHaveBeenCalledWith([1]);
    test.expect(test.calls(s)).toEqual([[[1]]]);
  });
  test.it("scripts the model", async () => {
    test.mockLlm({replies: ["scripted"]});
    test.expect((await llm.chat("hi")).text).toBe("scripted");
  });
});
const report = await test.run();
for (const t of report.tests) {
  console.log(t.full_name + ": " + t.status + (t.error ? " (" + t.error.code + ": " + t.error.message + ")" : ""));
}
console.log(`${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped`);
console.log(log.join(","));
console.log(json.encode([1]));
