// `llmspell test` and the `test` namespace through the real binary, in every engine: pass, fail
// (with the to_equal diff), skip, only, hooks in order, a test that waits, a per-test timeout;
// the TAP output read by npm's tap-parser (skipped without node or the module), the JUnit XML
// read by python3's xml.etree against the layout Jenkins and GitLab read; mocks put back after a
// failing test; exit codes.
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "support/cli.hpp"

namespace fs = std::filesystem;

namespace {

using llmspell::test::CliResult;
using llmspell::test::runCli;
using llmspell::test::runShell;
using llmspell::test::shellQuote;

const std::string kSource = LLMSPELL_SOURCE_DIR;

// A fresh directory for one test.
std::string scratch(const std::string& name) {
  std::string dir = testing::TempDir() + "/llmspell_testcmd_" + std::to_string(getpid()) + "_" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void write(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << text;
}

// `llmspell test ARGS` run from `dir` (file names in reports are relative to it); stderr merged.
CliResult testIn(const std::string& dir, const std::string& args) {
  return runShell("cd " + shellQuote(dir) + " && " + llmspell::test::cliPath() + " test --test-timeout 60 " + args +
                  " </dev/null 2>&1");
}

// The same six tests in each engine: hooks log in order, one test fails, one is skipped, one
// waits, one outlives its own timeout, and the last checks the hooks' order.
const std::map<std::string, std::string> kMatrix = {
    {"lua", R"(local log = {}
describe("m", function()
  before_all(function() log[#log + 1] = "ba" end)
  before_each(function() log[#log + 1] = "be" end)
  after_each(function() log[#log + 1] = "ae" end)
  after_all(function() print("after_all " .. table.concat(log, ",")) end)
  it("passes", function() expect(1 + 1).to_equal(2) end)
  it("fails", function() expect({a = 1, b = {1, 2}}).to_equal({a = 2, b = {1, 3}}) end)
  test.skip("skipped", function() error("never runs") end)
  it("waits", function() sleep(0.02); expect("done").to_match("^d") end)
  it("times out", function() sleep(30) end, {timeout = 0.2})
  it("hooks ran", function() expect(table.concat(log, ",")).to_be("ba,be,ae,be,ae,be,ae,be,ae,be") end)
end)
)"},
    {"js", R"(const log = [];
describe("m", () => {
  beforeAll(() => { log.push("ba"); });
  beforeEach(() => { log.push("be"); });
  afterEach(() => { log.push("ae"); });
  afterAll(() => { console.log("after_all " + log.join(",")); });
  it("passes", () => { expect(1 + 1).toEqual(2); });
  it("fails", () => { expect({a: 1, b: [1, 2]}).toEqual({a: 2, b: [1, 3]}); });
  test.skip("skipped", () => { throw new Error("never runs"); });
  it("waits", async () => { await sleep(0.02); expect("done").toMatch("^d"); });
  it("times out", async () => { await sleep(30); }, {timeout: 0.2});
  it("hooks ran", () => { expect(log.join(",")).toBe("ba,be,ae,be,ae,be,ae,be,ae,be"); });
});
)"},
    {"tengo", R"(test := import("test")
fmt := import("fmt")
log := ""
describe("m", func() {
  before_all(func() { log += "ba," })
  before_each(func() { log += "be," })
  after_each(func() { log += "ae," })
  after_all(func() { fmt.println("after_all " + log) })
  it("passes", func() { expect(1 + 1).to_equal(2) })
  it("fails", func() { expect({a: 1, b: [1, 2]}).to_equal({a: 2, b: [1, 3]}) })
  test.skip("skipped", func() { return error("never runs") })
  it("waits", func() { sleep(0.02); expect("done").to_match("^d") })
  it("times out", func() { sleep(30) }, {timeout: 0.2})
  it("hooks ran", func() { expect(log).to_be("ba,be,ae,be,ae,be,ae,be,ae,be,") })
})
)"},
};

const std::map<std::string, std::string> kOnly = {
    {"lua", "it('a', function() error('must not run') end)\ntest.only('b', function() expect(1).to_be(1) end)\n"},
    {"js", "it('a', () => { throw new Error('must not run'); });\ntest.only('b', () => { expect(1).toBe(1); });\n"},
    {"tengo", "test := import(\"test\")\nit(\"a\", func() { return error(\"must not run\") })\n"
              "test.only(\"b\", func() { expect(1).to_be(1) })\n"},
};

// Spies, test.mock (through the registry's call path, sync and async functions alike) and
// test.mock_llm; every mock is put back when its test ends, the failing one included.
const std::map<std::string, std::string> kDoubles = {
    {"lua", R"(describe("doubles", function()
  it("mocks and fails", function()
    test.mock("json.encode", function(v) return "mocked" end)
    expect(json.encode({1})).to_be("mocked")
    error("boom")
  end)
  it("mock is put back", function() expect(json.encode({1})).to_be("[1]") end)
  it("mocks an async function", function()
    test.mock("http.get", function(url) return {status = 200, body = "fake " .. url} end)
    expect(http.get("http://example.invalid/").body).to_be("fake http://example.invalid/")
  end)
  it("spies", function()
    local s = test.spy(function(a, b) return a + b end)
    expect(s(1, 2)).to_be(3)
    s(3, 4)
    expect(s).to_have_been_called(2)
    expect(s).to_have_been_called_with(3, 4)
    expect(s).never.to_have_been_called_with(5)
    expect(test.calls(s)).to_equal({{1, 2}, {3, 4}})
  end)
  it("scripts the model", function()
    test.mock_llm{replies = {"first", "second"}}
    expect(llm.chat("a").text).to_be("first")
    expect(llm.chat("b").text).to_be("second")
  end)
  it("model mock is put back", function()
    expect(function() llm.chat("c") end).to_throw("config_error")
  end)
end)
)"},
    {"js", R"(describe("doubles", () => {
  it("mocks and fails", () => {
    test.mock("json.encode", (v) => "mocked");
    expect(json.encode([1])).toBe("mocked");
    throw new Error("boom");
  });
  it("mock is put back", () => { expect(json.encode([1])).toBe("[1]"); });
  it("mocks an async function", async () => {
    test.mock("http.get", (url) => ({status: 200, body: "fake " + url}));
    expect((await http.get("http://example.invalid/")).body).toBe("fake http://example.invalid/");
  });
  it("spies", () => {
    const s = test.spy((a, b) => a + b);
    expect(s(1, 2)).toBe(3);
    s(3, 4);
    expect(s).toHaveBeenCalled(2);
    expect(s).toHaveBeenCalledWith(3, 4);
    expect(s).not.toHaveBeenCalledWith(5);
    expect(test.calls(s)).toEqual([[1, 2], [3, 4]]);
  });
  it("scripts the model", async () => {
    test.mockLlm({replies: ["first", "second"]});
    expect((await llm.chat("a")).text).toBe("first");
    expect((await llm.chat("b")).text).toBe("second");
  });
  it("model mock is put back", async () => {
    await expect(() => llm.chat("c")).toThrow("config_error");
  });
});
)"},
    {"tengo", R"(test := import("test")
json := import("json")
http := import("http")
llm := import("llm")
describe("doubles", func() {
  it("mocks and fails", func() {
    test.mock("json.encode", func(v) { return "mocked" })
    expect(json.encode([1])).to_be("mocked")
    return error("boom")
  })
  it("mock is put back", func() { expect(json.encode([1])).to_be("[1]") })
  it("mocks an async function", func() {
    test.mock("http.get", func(url) { return {status: 200, body: "fake " + url} })
    expect(http.get("http://example.invalid/").body).to_be("fake http://example.invalid/")
  })
  it("spies", func() {
    s := test.spy(func(a, b) { return a + b })
    expect(s(1, 2)).to_be(3)
    s(3, 4)
    expect(s).to_have_been_called(2)
    expect(s).to_have_been_called_with(3, 4)
    expect(s).not_.to_have_been_called_with(5)
    expect(test.calls(s)).to_equal([[1, 2], [3, 4]])
  })
  it("scripts the model", func() {
    test.mock_llm({replies: ["first", "second"]})
    expect(llm.chat("a").text).to_be("first")
    expect(llm.chat("b").text).to_be("second")
  })
  it("model mock is put back", func() {
    expect(func() { return llm.chat("c") }).to_throw("config_error")
  })
})
)"},
};

class Engines : public testing::TestWithParam<std::string> {};

TEST_P(Engines, MatrixPrettyReport) {
  const std::string& ext = GetParam();
  std::string dir = scratch("matrix_" + ext);
  write(dir + "/matrix_test." + ext, kMatrix.at(ext));
  CliResult r = testIn(dir, "");
  EXPECT_EQ(r.exit, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("FAIL matrix_test." + ext + " (3 passed, 2 failed, 1 skipped)"), std::string::npos) << r.out;
  // The diff names each place the values differ (Lua counts from 1).
  std::string second = ext == "lua" ? "$.b[2]" : "$.b[1]";
  EXPECT_NE(r.out.find("$.a: expected 2, got 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(second + ": expected 3, got 2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("timeout: test 'times out' timed out after 0.2s"), std::string::npos) << r.out;
  // after_all ran after the last test, and the output of a failing file is shown.
  std::string tail = ext == "tengo" ? "ae," : "ae";
  EXPECT_NE(r.out.find("after_all ba,be,ae,be,ae,be,ae,be,ae,be," + tail), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("never runs"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Tests: 3 passed, 2 failed, 1 skipped, 6 total"), std::string::npos) << r.out;
}

TEST_P(Engines, OnlySkipsTheRest) {
  const std::string& ext = GetParam();
  std::string dir = scratch("only_" + ext);
  write(dir + "/only_test." + ext, kOnly.at(ext));
  CliResult r = testIn(dir, "");
  EXPECT_EQ(r.exit, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("PASS only_test." + ext + " (1 passed, 1 skipped)"), std::string::npos) << r.out;
}

TEST_P(Engines, FilterByName) {
  const std::string& ext = GetParam();
  std::string dir = scratch("filter_" + ext);
  write(dir + "/matrix_test." + ext, kMatrix.at(ext));
  CliResult r = testIn(dir, "--filter 'passes|wait' -f tap");
  EXPECT_EQ(r.exit, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("1..2\nok 1 - matrix_test." + ext + ": m > passes\nok 2 - matrix_test." + ext + ": m > waits\n"),
            std::string::npos)
      << r.out;
}

TEST_P(Engines, MocksAndSpiesArePutBack) {
  const std::string& ext = GetParam();
  std::string dir = scratch("doubles_" + ext);
  write(dir + "/doubles_test." + ext, kDoubles.at(ext));
  // No provider key or default model: a real llm.chat fails with config_error.
  CliResult r = runShell("cd " + shellQuote(dir) + " && env -u OPENAI_API_KEY -u ANTHROPIC_API_KEY -u GEMINI_API_KEY " +
               "-u GOOGLE_API_KEY -u LLMSPELL_MODEL " + llmspell::test::cliPath() + " test -f tap 2>&1");
  EXPECT_EQ(r.exit, 1) << r.out;
  std::string f = "doubles_test." + ext + ": doubles > ";
  EXPECT_NE(r.out.find("not ok 1 - " + f + "mocks and fails\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("boom"), std::string::npos) << r.out;
  for (const char* ok : {"ok 2 - ", "ok 3 - ", "ok 4 - ", "ok 5 - ", "ok 6 - "}) {
    EXPECT_NE(r.out.find(std::string("\n") + ok + f), std::string::npos) << ok << r.out;
  }
}

TEST(TestCommand, MockNamesAFunctionThatExists) {
  std::string dir = scratch("mockname");
  write(dir + "/m_test.lua", "it('x', function() test.mock('llm.chta', function() end) end)\n"
                             "it('y', function() test.mock('test.it', function() end) end)\n");
  CliResult r = testIn(dir, "");
  EXPECT_EQ(r.exit, 1) << r.out;
  EXPECT_NE(r.out.find("not_found: test.mock: no function named 'llm.chta'; did you mean llm.chat"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("the test namespace itself cannot be mocked"), std::string::npos) << r.out;
}

// `llmspell new` scaffolds a test beside the spell that `llmspell test` passes.
TEST_P(Engines, NewScaffoldsAPassingTest) {
  const std::string& ext = GetParam();
  std::string dir = scratch("new_" + ext);
  CliResult made = runShell("cd " + shellQuote(dir) + " && " + llmspell::test::cliPath() + " new greet --engine " + ext + " 2>&1");
  ASSERT_EQ(made.exit, 0) << made.out;
  EXPECT_TRUE(fs::exists(dir + "/greet/greet_test." + ext)) << made.out;
  CliResult run = runShell("cd " + shellQuote(dir) + " && " + llmspell::test::cliPath() + " run greet 2>/dev/null");
  EXPECT_EQ(run.exit, 0);
  EXPECT_EQ(run.out, "Hello, world!\n");
  CliResult r = testIn(dir, "greet");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find("PASS greet/greet_test." + ext + " (1 passed)"), std::string::npos) << r.out;
}

INSTANTIATE_TEST_SUITE_P(All, Engines, testing::Values("lua", "js", "tengo"));

// All three matrix files at once, in TAP 13, read by tap-parser (npm).
TEST(TestCommand, TapParsedByTapParser) {
  std::string parser = kSource + "/third_party_data/node_modules/tap-parser";
  if (!fs::exists(parser)) GTEST_SKIP() << "tap-parser is not installed (" << parser << "): run scripts/setup.sh";
  if (runShell("command -v node >/dev/null 2>&1").exit != 0) GTEST_SKIP() << "node is not on PATH";
  std::string dir = scratch("tap");
  for (const auto& [ext, text] : kMatrix) write(dir + "/matrix_test." + ext, text);
  write(dir + "/broken_test.lua", "error('top-level failure')\n");
  std::string tap = dir + "/out.tap";
  CliResult r = testIn(dir, "-f tap >out.tap");
  EXPECT_EQ(r.exit, 1);
  write(dir + "/read.cjs", R"(const { Parser } = require(process.argv[2]);
const asserts = [];
const p = new Parser((res) => {
  console.log(JSON.stringify({ok: res.ok, count: res.count, pass: res.pass, fail: res.fail, skip: res.skip,
                              plan: [res.plan.start, res.plan.end], version: p.version || null,
                              failures: res.failures.map((f) => f.name || f.tapError)}));
  for (const a of asserts) console.log(a);
});
p.on("assert", (a) => asserts.push((a.ok ? "ok " : "not ok ") + a.id + " " + a.name + (a.skip ? " SKIP" : "") +
                                   (a.diag && a.diag.message ? " | " + a.diag.message.split("\n")[0] : "")));
process.stdin.pipe(p);
)");
  CliResult parsed = runShell("node " + shellQuote(dir + "/read.cjs") + " " + shellQuote(parser) + " <" + shellQuote(tap) + " 2>&1");
  ASSERT_EQ(parsed.exit, 0) << parsed.out;
  std::string head = parsed.out.substr(0, parsed.out.find('\n'));
  EXPECT_NE(head.find(R"("ok":false,"count":19,"pass":12,"fail":7,"skip":3,"plan":[1,19])"), std::string::npos) << parsed.out;
  // tap-parser counts a skip as a pass. The file that failed before its tests ran is one failing
  // point with its error.
  EXPECT_NE(parsed.out.find("not ok 1 broken_test.lua: the file did not run to the end | top-level failure"), std::string::npos)
      << parsed.out;
  EXPECT_NE(parsed.out.find("not ok 3 matrix_test.js: m > fails | expected values to be equal:"), std::string::npos) << parsed.out;
  EXPECT_NE(parsed.out.find("ok 4 matrix_test.js: m > skipped SKIP"), std::string::npos) << parsed.out;
  EXPECT_NE(parsed.out.find("ok 19 matrix_test.tengo: m > hooks ran"), std::string::npos) << parsed.out;
}

// JUnit XML, read by python3's xml.etree: the attributes Jenkins and GitLab read, counts that add up.
TEST(TestCommand, JunitLayout) {
  if (runShell("command -v python3 >/dev/null 2>&1").exit != 0) GTEST_SKIP() << "python3 is not on PATH";
  std::string dir = scratch("junit");
  for (const auto& [ext, text] : kMatrix) write(dir + "/matrix_test." + ext, text);
  write(dir + "/broken_test.js", "throw new Error('top-level <failure> & more');\n");
  std::string xml = dir + "/out.xml";
  CliResult r = testIn(dir, "--format junit >out.xml");
  EXPECT_EQ(r.exit, 1);
  write(dir + "/read.py", R"(import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites", root.tag
total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
for s in root.findall("testsuite"):
    for a in ("name", "tests", "failures", "errors", "skipped", "time"):
        assert a in s.attrib, (s.attrib, a)
    float(s.get("time"))
    cases = s.findall("testcase")
    n = {"tests": len(cases),
         "failures": sum(c.find("failure") is not None for c in cases),
         "errors": sum(c.find("error") is not None for c in cases),
         "skipped": sum(c.find("skipped") is not None for c in cases)}
    for k, v in n.items():
        assert int(s.get(k)) == v, (s.get("name"), k, s.get(k), v)
        total[k] += v
    for c in cases:
        for a in ("classname", "name", "time"):
            assert a in c.attrib, (c.attrib, a)
        float(c.get("time"))
        status = "passed"
        for kind in ("failure", "error", "skipped"):
            e = c.find(kind)
            if e is not None:
                status = kind
                if kind != "skipped":
                    assert e.get("message"), c.attrib
                    status += " " + e.get("message").splitlines()[0]
        print(s.get("name"), "|", c.get("classname"), "|", c.get("name"), "|", status)
for k, v in total.items():
    assert int(root.get(k)) == v, (k, root.get(k), v)
print("totals", total)
)");
  CliResult parsed = runShell("python3 " + shellQuote(dir + "/read.py") + " " + shellQuote(xml) + " 2>&1");
  ASSERT_EQ(parsed.exit, 0) << parsed.out;
  EXPECT_NE(parsed.out.find("totals {'tests': 19, 'failures': 6, 'errors': 1, 'skipped': 3}"), std::string::npos) << parsed.out;
  EXPECT_NE(parsed.out.find("broken_test.js | broken_test.js | (file) | error top-level <failure> & more"),
            std::string::npos)
      << parsed.out;
  EXPECT_NE(parsed.out.find("matrix_test.lua | matrix_test.lua | m > fails | failure expected values to be equal:"),
            std::string::npos)
      << parsed.out;
  EXPECT_NE(parsed.out.find("matrix_test.tengo | matrix_test.tengo | m > skipped | skipped"), std::string::npos) << parsed.out;
}

// Discovery: *_test files anywhere and every script in a tests/ folder; other scripts are not
// tests. A test in a spell's tests/ folder runs with the grants of the spell's manifest.
TEST(TestCommand, DiscoveryAndManifestGrants) {
  std::string dir = scratch("discover");
  write(dir + "/app/spell.yaml", "name: app\nentry: main.lua\npermissions:\n  read: [./data]\n");
  write(dir + "/app/main.lua", "error('the spell itself is not a test')\n");
  write(dir + "/app/data/x.txt", "hello");
  // Paths are the process's: the test runs from `dir`.
  write(dir + "/app/tests/read.lua",
        "it('reads with the grant of the manifest', function()\n"
        "  expect(fs.read('app/data/x.txt')).to_be('hello')\nend)\n"
        "it('has no other grant', function()\n"
        "  expect(function() fs.read('/etc/hostname') end).to_throw('permission_denied')\nend)\n");
  write(dir + "/lib/helper.lua", "return 1\n");
  write(dir + "/lib/helper_test.js", "it('runs', () => { expect(true).toBeTruthy(); });\n");
  write(dir + "/node_modules/x_test.lua", "error('not searched')\n");
  CliResult r = testIn(dir, "-f tap");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find("1..3\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tests/read.lua: reads with the grant of the manifest\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("helper_test.js: runs\n"), std::string::npos) << r.out;
}

// it(name, fn, {replay = FILE}): a recording answers that test's llm calls, and only that test's.
TEST(TestCommand, PerTestReplay) {
  std::string dir = scratch("replay");
  write(dir + "/replies.jsonl", "\"recorded answer\"\n");
  CliResult rec = runShell("cd " + shellQuote(dir) + " && " + llmspell::test::cliPath() +
                           " exec --mock-replies replies.jsonl --record calls.jsonl "
                           "'return llm.chat(\"hi\", {model = \"mock/script\"}).text' 2>&1");
  ASSERT_EQ(rec.exit, 0) << rec.out;
  write(dir + "/replay_test.lua", R"(it("replays", function()
  expect(llm.chat("hi", {model = "mock/script"}).text).to_be("recorded answer")
end, {replay = "calls.jsonl"})
it("no recording after the test", function()
  expect(function() llm.chat("hi", {model = "mock/script"}) end).to_throw()
end)
it("a missing recording fails the test", function() end, {replay = "nope.jsonl"})
it("a recording outside the spell needs a grant", function() end, {replay = "/etc/hostname"})
)");
  CliResult r = testIn(dir, "-f tap");
  EXPECT_EQ(r.exit, 1) << r.out;
  EXPECT_NE(r.out.find("ok 1 - replay_test.lua: replays\nok 2 - replay_test.lua: no recording after the test\n"
                       "not ok 3 - replay_test.lua: a missing recording fails the test\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("cannot read the recording"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("not ok 4 - replay_test.lua: a recording outside the spell needs a grant\n  ---\n  message: \"read access to /etc/hostname is not granted"),
            std::string::npos)
      << r.out;
}

TEST(TestCommand, UsageErrors) {
  std::string dir = scratch("usage");
  CliResult none = runCli("test " + shellQuote(dir));
  EXPECT_EQ(none.exit, 2);
  EXPECT_NE(none.err.find("error[not_found]: no test files in"), std::string::npos) << none.err;
  CliResult missing = runCli("test " + shellQuote(dir + "/nope"));
  EXPECT_EQ(missing.exit, 2);
  EXPECT_NE(missing.err.find("does not exist"), std::string::npos) << missing.err;
  CliResult flag = runCli("test --format xml " + shellQuote(dir));
  EXPECT_EQ(flag.exit, 2);
  write(dir + "/ok_test.lua", "it('x', function() end)\n");
  CliResult badFilter = runCli("test --filter '(' " + shellQuote(dir));
  EXPECT_EQ(badFilter.exit, 1);
  EXPECT_NE(badFilter.out.find("filter is not a valid regular expression"), std::string::npos) << badFilter.out;
  CliResult ok = runCli("test -j 1 " + shellQuote(dir));
  EXPECT_EQ(ok.exit, 0) << ok.out;
  // Run flags that mean nothing for test files are refused, not ignored.
  for (const char* f : {"--engine js", "--output json", "--record x.jsonl", "--durable", "--run-id r1"}) {
    CliResult r = runCli(std::string("test ") + f + " " + shellQuote(dir));
    EXPECT_EQ(r.exit, 2) << f;
    EXPECT_NE(r.err.find("error[invalid_argument]: llmspell test does not take " +
                         std::string(f).substr(0, std::string(f).find(' '))),
              std::string::npos)
        << f << r.err;
  }
}

// test.mock_llm reaches the model calls an agent makes inside the runtime (test.mock("llm.chat")
// replaces only the spell's own calls, as docs/testing.md says).
TEST(TestCommand, MockLlmAnswersAnAgent) {
  std::string dir = scratch("mockagent");
  write(dir + "/agent_test.lua", R"(it("agent", function()
  test.mock_llm{replies = {{tool_calls = {{name = "calculator", arguments = {expression = "6 * 7"}}}}, "42 it is"}}
  local a = agent.create{name = "m", tools = {"calculator"}}
  local r = a:run("6 times 7?")
  expect(r.text).to_be("42 it is")
  expect(r.tool_calls[1].result.result).to_be(42)
end)
it("llm.chat mock leaves agents alone", function()
  test.mock("llm.chat", function() return {text = "mocked"} end)
  expect(llm.chat("x").text).to_be("mocked")
  test.mock_llm{replies = {"from the mock provider"}}
  expect(agent.create{name = "n"}:run("y").text).to_be("from the mock provider")
end)
)");
  CliResult r = testIn(dir, "");
  EXPECT_EQ(r.exit, 0) << r.out;
}

}  // namespace
