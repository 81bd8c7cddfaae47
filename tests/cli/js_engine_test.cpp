// The JavaScript engine through the real binary: spells as ES modules (imports, the default
// export as the result), exec bodies, the REPL, manifests with a .js entry, the generic binding
// (camelCase names, promises, LlmspellError, host objects and their methods), callbacks that
// wait, and the refusals (eval, dynamic import, --instruction-limit).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/cli.hpp"

namespace {

namespace fs = std::filesystem;
using llmspell::test::CliResult;
using llmspell::test::cliPath;
using llmspell::test::runCli;
using llmspell::test::runShell;
using llmspell::test::shellQuote;

class JsEngine : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(testing::TempDir()) /
           ("llmspell_js_" + std::to_string(getpid()) + "_" + testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const fs::path& rel, const std::string& text) {
    fs::path p = dir_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
  }
  // `llmspell ARGS` in the test's directory, stdout and stderr merged.
  CliResult cli(const std::string& args, const std::string& input = "") {
    std::ofstream(dir_ / "stdin.txt") << input;
    return runShell("cd " + shellQuote(dir_.string()) + " && LLMSPELL_HOME=" + shellQuote((dir_ / "home").string()) +
                    " timeout 60 " + cliPath() + " " + args + " 2>&1 <stdin.txt");
  }
  CliResult exec(const std::string& code, const std::string& flags = "") {
    return cli("exec --engine js " + flags + " " + shellQuote(code));
  }
  fs::path dir_;
};

TEST_F(JsEngine, ExecBodyReturnsAndAwaits) {
  auto r = exec("await sleep(0.01); return 6 * 7");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_EQ(r.out, "42\n");
}

TEST_F(JsEngine, ModulesImportRelativeFilesAndExportTheResult) {
  write("spell/lib/math.js", "export const twice = (x) => x * 2;\nexport default function hello(n) { return `hello ${n}`; }\n");
  write("spell/main.js",
        "import hello, {twice} from './lib/math.js';\n"
        "print(hello('js'), twice(21));\n"
        "const sq = await Promise.all([1, 2, 3].map(async (i) => { await sleep(0.001 * i); return i * i; }));\n"
        "export default {squares: sq};\n");
  auto r = cli("run spell/main.js --output json");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find("hello js\t42\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"squares\": [\n      1,\n      4,\n      9\n    ]"), std::string::npos) << r.out;
}

TEST_F(JsEngine, ImportsStayInsideTheSpellDirectory) {
  write("outside.js", "export default 'OUTSIDE';\n");
  write("spell/a.js", "import x from '../outside.js';\nprint(x);\n");
  auto r = cli("run spell/a.js");
  EXPECT_NE(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find("error[permission_denied]"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("OUTSIDE"), std::string::npos) << r.out;
  write("spell/b.js", "import fs from 'node:fs';\n");
  r = cli("run spell/b.js");
  EXPECT_NE(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find("relative path"), std::string::npos) << r.out;
  write("spell/c.js", "try { await import('./a.js'); } catch (e) { print(e.code); }\n");
  r = cli("run spell/c.js");
  EXPECT_EQ(r.out, "permission_denied\n");
}

TEST_F(JsEngine, ManifestEntryAndSyntaxErrors) {
  write("spell/spell.yaml", "name: jsdemo\nversion: 1.0.0\nentry: main.js\n");
  write("spell/main.js", "print('from the manifest', spell.params !== undefined);\nexport default 7;\n");
  auto r = cli("run spell");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_EQ(r.out, "from the manifest\ttrue\n7\n");
  write("bad.js", "let x = ;\n");
  r = cli("check bad.js");
  EXPECT_EQ(r.exit, 1) << r.out;
  EXPECT_NE(r.out.find("bad.js:1:0: error[syntax]: syntax error"), std::string::npos) << r.out;
}

TEST_F(JsEngine, ReplKeepsBindingsAndPrintsPromisedValues) {
  auto r = cli("repl --engine js", "let x = 2\nx * 21\nsleep(0.01).then(() => 'done')\nthrow new Error('oops')\nx\n");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_EQ(r.out, "42\ndone\nerror[script_error]: oops\n2\n");
}

TEST_F(JsEngine, TheRegistryBindsGenerically) {
  auto r = exec(
      "print(json.encode(json.decode('[1,null,3]')), text.slugify('Hello, World!'));\n"
      "print(typeof llm.countTokens, 'count_tokens' in llm);\n"
      "const ch = channel(2); await ch.send('one'); print(await ch.recv(), ch.len());\n"
      "try { llm.chta('x') } catch (e) { print(e instanceof LlmspellError, e.code, e.message) }\n"
      "try { await sleep('soon') } catch (e) { print(e.code, e.line, String(e).startsWith('invalid_argument: sleep')) }\n"
      "const b = crypto.randomBytes(4); print(b instanceof Uint8Array, b.length);\n");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_EQ(r.out,
            "[1,null,3]\thello-world\n"
            "function\tfalse\n"
            "one\t0\n"
            "true\tnot_found\tllm.chta does not exist; did you mean llm.chat?\n"
            "invalid_argument\t5\ttrue\n"
            "true\t4\n");
}

TEST_F(JsEngine, CallbacksTheHostCallsMayWait) {
  // A tool's run, a workflow step and an event handler are async functions that wait; an
  // agent uses the tool; a JS exception in a callback reaches the host with its stack.
  auto r = exec(
      "llm.configure('mock', {replies: [\n"
      "  {tool_calls: [{id: 'c1', name: 'add', arguments: {a: 2, b: 3}}]},\n"
      "  {text: 'the sum is 5'}]});\n"
      "tools.define({name: 'add', description: 'adds', parameters: {type: 'object'},\n"
      "  run: async (args) => { await sleep(0.01); return args.a + args.b; }});\n"
      "const a = agent.create({name: 'calc', model: 'mock/script', tools: ['add']});\n"
      "const r = await a.run('2+3?');\n"
      "print(r.text, r.tool_calls[0].result);\n"
      "const w = workflow.sequential({name: 'w', steps: [async (x) => { await sleep(0.01); return x + 1; },\n"
      "  {name: 'boom', run: (x) => { throw new Error('bad step ' + x); }}]});\n"
      "const wr = await w.run(1);\n"
      "print(wr.status, wr.steps[0].output, wr.error.code, wr.error.message.includes('bad step 2'));\n"
      "let seen = null;\n"
      "events.on('my.event', async (e) => { await sleep(0.01); seen = e.data.n; });\n"
      "events.emit('my.event', {n: 7});\n"
      "await sleep(0.1);\n"
      "print(seen);\n");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_EQ(r.out, "the sum is 5\t5\nfailed\t2\tscript_error\ttrue\n7\n");
}

TEST_F(JsEngine, UncaughtErrorsExitWithTheirCode) {
  auto r = exec("throw new LlmspellError('no such user', 'not_found')");
  EXPECT_EQ(r.exit, 1);
  EXPECT_NE(r.out.find("error[not_found]: no such user"), std::string::npos) << r.out;
  r = exec("await Promise.reject(new TypeError('nope'))");
  EXPECT_EQ(r.exit, 1);
  EXPECT_NE(r.out.find("error[script_error]: nope"), std::string::npos) << r.out;
}

TEST_F(JsEngine, CodeFromStringsAndNodeApisAreRefused) {
  auto r = exec(
      "for (const f of [() => eval('1'), () => new Function('return 1'), () => (function(){}).constructor('return 1')]) {\n"
      "  try { f(); print('ran') } catch (e) { print(e.name) }\n"
      "}\n"
      "print(typeof WebAssembly, typeof SharedArrayBuffer, typeof Atomics, typeof require, typeof process);\n");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_EQ(r.out, "EvalError\nEvalError\nEvalError\nundefined\tundefined\tundefined\tundefined\tundefined\n");
}

TEST_F(JsEngine, LimitsStopTheSpellUncatchably) {
  auto r = exec("try { for (;;) {} } finally { print('resumed') }", "--timeout 1");
  EXPECT_EQ(r.exit, 3) << r.out;
  EXPECT_NE(r.out.find("error[limit_exceeded]: time limit of 1s exceeded"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("resumed"), std::string::npos) << r.out;
  r = exec("for (;;) await null", "--timeout 1");
  EXPECT_EQ(r.exit, 3) << r.out;
  r = exec("const a = []; for (;;) a.push('x'.repeat(1000) + a.length)", "--memory-limit 64");
  EXPECT_EQ(r.exit, 3) << r.out;
  EXPECT_NE(r.out.find("memory limit of 64 MiB exceeded"), std::string::npos) << r.out;
  r = exec("const b = []; for (let i = 0; i < 100; i++) b.push(new ArrayBuffer(16 << 20)); return b.length",
           "--memory-limit 64");
  EXPECT_EQ(r.exit, 3) << r.out;
  r = exec("return 1", "--instruction-limit 1000");
  EXPECT_EQ(r.exit, 1) << r.out;
  EXPECT_NE(r.out.find("config_error"), std::string::npos) << r.out;
}

TEST_F(JsEngine, UnknownEngineNamesTheEnginesOfThisBuild) {
  auto r = cli("exec --engine python 'x'");
  EXPECT_EQ(r.exit, 2) << r.out;
  EXPECT_NE(r.out.find("python not in {lua,js,tengo}"), std::string::npos) << r.out;
}

}  // namespace

namespace {

// A promise rejected with nothing to handle it (a dropped spawn included) is reported at the
// end, as a failed spawned task is in Lua; one handled later, or awaited, is not.
TEST_F(JsEngine, UnhandledRejectionsAreReported) {
  auto r = exec(
      "Promise.reject(new Error('lost'));\n"
      "const p = Promise.reject(new Error('caught later')); await sleep(0.01); p.catch(() => {});\n"
      "spawn(async () => { throw new LlmspellError('dropped', 'my_code') });\n"
      "try { await spawn(async () => { throw new Error('awaited') }) } catch (e) {}\n"
      "await sleep(0.01); print('end');\n");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find("nothing waited for it: error[script_error]: lost"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("nothing waited for it: error[my_code]: dropped"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("caught later"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("awaited"), std::string::npos) << r.out;
}

}  // namespace

namespace {

// A callback is followed through its promises (V8's promise hook): a workflow step's model calls
// count in the step after it awaited, parallel steps each count their own, and a step stopped by
// its timeout has every later wait fail with `cancelled`, as a Lua task does.
TEST_F(JsEngine, CallbacksAreFollowedAcrossAwaits) {
  auto r = exec(
      "const replies = []; for (let i = 0; i < 8; i++) replies.push({text: 'r' + i, usage: {input_tokens: 2 ** i, output_tokens: 1}});\n"
      "llm.configure('mock', {replies});\n"
      "const m = {model: 'mock/script'};\n"
      "const slow = (name, pause) => ({name, run: async () => {\n"
      "  const a = (await llm.chat(name, m)).usage.input_tokens; await sleep(pause);\n"
      "  return a + (await llm.chat(name, m)).usage.input_tokens; }});\n"
      "const p = await workflow.parallel({steps: [slow('a', 0.03), slow('b', 0.01)]}).run(0);\n"
      "print(p.status, p.usage.input_tokens, p.steps[0].usage.input_tokens === p.steps[0].output,\n"
      "      p.steps[1].usage.input_tokens === p.steps[1].output);\n"
      "const w = workflow.sequential({on_error: 'continue', steps: [{name: 'slow', timeout: 0.05, run: async () => {\n"
      "  try { await sleep(0.3) } catch (e) { print('first', e.code) }\n"
      "  try { await sleep(0.01) } catch (e) { print('again', e.code) }\n"
      "  await sleep(0.01); print('not reached') }}]});\n"
      "const wr = await w.run(1); await sleep(0.4);\n"
      "print(wr.steps[0].status, wr.steps[0].error.code);\n");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_EQ(r.out, "completed\t15\ttrue\ttrue\nfirst\tcancelled\nagain\tcancelled\nfailed\ttimeout\n");
}

// A module that is there but cannot be loaded gives a config_error that says why, and the other
// engines still work.
TEST_F(JsEngine, AnUnloadableModuleIsAConfigError) {
  fs::create_directories(dir_ / "bin");
  fs::copy_file(cliPath(), dir_ / "bin" / "llmspell");
  fs::permissions(dir_ / "bin" / "llmspell", fs::perms::owner_exec, fs::perm_options::add);
  write("bin/libllmspell_js.so", "not a shared object");
  std::string bin = shellQuote((dir_ / "bin" / "llmspell").string());
  auto js = runShell(bin + " exec --engine js 'return 1' 2>&1");
  EXPECT_EQ(js.exit, 1) << js.out;
  EXPECT_NE(js.out.find("error[config_error]: the JavaScript engine is not available:"), std::string::npos) << js.out;
  EXPECT_NE(js.out.find("libllmspell_js.so"), std::string::npos) << js.out;
  auto lua = runShell(bin + " exec 'return 1' 2>&1");
  EXPECT_EQ(lua.exit, 0) << lua.out;
  EXPECT_EQ(lua.out, "1\n");
}

// A Date crosses to the host as JSON.stringify writes it (it used to arrive as {}); Map and Set
// stay {} as in JSON.stringify.
TEST_F(JsEngine, DatesCrossAsTheirIsoText) {
  auto r = exec("return json.encode({a: new Date(Date.UTC(2026, 11, 7, 6, 40, 1, 5)), b: new Date(NaN), "
                "c: new Date(-1), m: new Map([[1, 2]]), same: json.encode(new Date(0)) === JSON.stringify(new Date(0))})");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_EQ(r.out, "{\"a\":\"2026-12-07T06:40:01.005Z\",\"b\":null,\"c\":\"1969-12-31T23:59:59.999Z\",\"m\":{},\"same\":true}\n");
}

}  // namespace
