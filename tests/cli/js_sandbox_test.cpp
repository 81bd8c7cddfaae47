// The JavaScript sandbox through the real binary (issue #12, "Tests that must exist"): escape
// attempts a spell can make. Each one is refused with a clear error and a stable code, or is
// harmless (the host sees nothing of it); stops by a limit are limit_exceeded, exit 3, and cannot
// be resumed by finally blocks or promise handlers; no attempt crashes or hangs the process.
// Attempts that are caught inside the spell end by printing "healthy" after a host call, so the
// run going on normally is part of what is checked. Grants (fs, http, env) are checked as the
// Lua suites check them (tests/conformance/cases/sandbox_*.lua, tests/cli/host_grants_test.cpp).
//
// Tests named DISABLED_ fail because of an engine bug named in their comment; the lead enables
// them with the fix. (`timeout 60` only keeps a regression from hanging CTest.)
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/cli.hpp"

namespace {

namespace stdfs = std::filesystem;
using llmspell::test::CliResult;
using llmspell::test::shellQuote;

bool has(const CliResult& r, const std::string& text) { return r.out.find(text) != std::string::npos; }

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;  // no process memory guard: shadow memory is resident too
#else
constexpr bool kSanitized = false;
#endif

// The text of a run's output with every occurrence of `from` replaced by `to`.
std::string replaced(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

class JsSandbox : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = stdfs::path(testing::TempDir()) /
           ("js_sandbox_" + std::to_string(getpid()) + "_" + testing::UnitTest::GetInstance()->current_test_info()->name());
    stdfs::remove_all(dir_);
    stdfs::create_directories(dir_ / "g");
    stdfs::create_directories(dir_ / "outside");
    stdfs::create_directories(dir_ / "sp");
    std::ofstream(dir_ / "g" / "inside.txt") << "inside\n";
    std::ofstream(dir_ / "outside" / "secret.txt") << "TOPSECRET-content\n";
    std::ofstream(dir_ / "outside" / "lib.js") << "print('OUTSIDE-RAN'); export default 42;\n";
    std::ofstream(dir_ / "sp" / "lib.js") << "export default 'inside-lib';\n";
    for (const char* k : {"LLMSPELL_MODEL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY",
                          "LLMSPELL_CALL_LOG"})
      unsetenv(k);
    setenv("LLMSPELL_HOME", (dir_ / "home").c_str(), 1);
    setenv("LLMSPELL_SANDBOX_SECRET", "env-TOPSECRET", 1);
  }
  void TearDown() override {
    unsetenv("LLMSPELL_HOME");
    unsetenv("LLMSPELL_SANDBOX_SECRET");
    stdfs::remove_all(dir_);
  }

  // `llmspell ARGS` in the test's directory, stdout and stderr together.
  CliResult cli(const std::string& args) {
    return llmspell::test::runShell("cd " + shellQuote(dir_.string()) + " && timeout 60 " + llmspell::test::cliPath() +
                                    " " + args + " 2>&1 </dev/null");
  }
  // `exec --engine js CODE FLAGS`.
  CliResult js(const std::string& code, const std::string& flags = "") {
    return cli("exec --engine js " + shellQuote(code) + " " + flags);
  }
  // The spell file sp/main.js holding `code`, run with FLAGS.
  CliResult spell(const std::string& code, const std::string& flags = "") {
    std::ofstream(dir_ / "sp" / "main.js") << code;
    return cli("run sp/main.js " + flags);
  }

  stdfs::path dir_;
};

// A stop by a limit: exit 3 and the limit's message.
void expectStop(const CliResult& r, const std::string& message) {
  EXPECT_EQ(r.exit, 3) << r.out;
  EXPECT_TRUE(has(r, "error[limit_exceeded]: " + message)) << r.out;
}

const char* const kCodeGen =
    "code generation from strings (eval, new Function, string timers) is not available in spells";

// ---- code generation from strings ----

TEST_F(JsSandbox, EvalIsRefused) {
  auto r = js(R"JS(
for (const f of [() => eval("1 + 1"), () => (0, eval)("1 + 1"), () => globalThis.eval("1 + 1"),
                 () => globalThis["ev" + "al"]("this")]) {
  try { f(); print("ESCAPED") } catch (e) { print(e.name, e.message) }
}
print("healthy", json.encode([1]))
)JS");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_FALSE(has(r, "ESCAPED")) << r.out;
  std::string line = std::string("EvalError\t") + kCodeGen + "\n";
  EXPECT_EQ(r.out, line + line + line + line + "healthy\t[1]\n");
  // Uncaught, it ends the run with a stable code and the same message.
  auto uncaught = js("return eval('1')");
  EXPECT_EQ(uncaught.exit, 1) << uncaught.out;
  EXPECT_TRUE(has(uncaught, std::string("error[script_error]: ") + kCodeGen)) << uncaught.out;
}

TEST_F(JsSandbox, FunctionConstructorIsRefused) {
  auto r = js(R"JS(
for (const f of [() => new Function("return 1"), () => Function("return 1"), () => Function.prototype.constructor("return 1"),
                 () => Reflect.construct(Function, ["return 1"])]) {
  try { f(); print("ESCAPED") } catch (e) { print(e.name) }
}
print("healthy")
)JS");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_EQ(r.out, "EvalError\nEvalError\nEvalError\nEvalError\nhealthy\n");
}

// The Function constructor reached from any function, array, object or host function.
TEST_F(JsSandbox, ConstructorConstructorIsRefused) {
  auto r = js(R"JS(
const probes = [(function(){}).constructor.constructor, (() => 0).constructor, [].constructor.constructor,
                ({}).constructor.constructor, print.constructor, json.encode.constructor, sleep.constructor,
                LlmspellError.constructor];
for (const F of probes) {
  try { F("return globalThis")(); print("ESCAPED") } catch (e) { print(e.name) }
}
print("healthy")
)JS");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_FALSE(has(r, "ESCAPED")) << r.out;
  std::string expected;
  for (int i = 0; i < 8; ++i) expected += "EvalError\n";
  EXPECT_EQ(r.out, expected + "healthy\n");
}

TEST_F(JsSandbox, AsyncAndGeneratorFunctionConstructorsAreRefused) {
  auto r = js(R"JS(
const probes = [Object.getPrototypeOf(async function(){}).constructor, Object.getPrototypeOf(function*(){}).constructor,
                Object.getPrototypeOf(async function*(){}).constructor, Object.getPrototypeOf(async () => {}).constructor];
for (const F of probes) {
  try { F("return 1"); print("ESCAPED") } catch (e) { print(e.name, e.message) }
}
print("healthy")
)JS");
  EXPECT_EQ(r.exit, 0) << r.out;
  std::string line = std::string("EvalError\t") + kCodeGen + "\n";
  EXPECT_EQ(r.out, line + line + line + line + "healthy\n");
}

// No string timers (no timers at all: sleep is the clock), nothing of Node or the browser.
TEST_F(JsSandbox, NodeAndBrowserGlobalsDoNotExist) {
  auto r = js(R"JS(
const names = ["require", "process", "module", "exports", "Buffer", "global", "__dirname", "__filename", "setTimeout",
               "setInterval", "setImmediate", "queueMicrotask", "fetch", "XMLHttpRequest", "importScripts", "Deno", "Bun"];
print(names.filter((n) => typeof globalThis[n] !== "undefined").join(",") || "none")
print(typeof globalThis.process, Reflect.ownKeys(globalThis).some((k) => String(k) === "process"))
for (const f of [() => require("fs"), () => process.env, () => process.binding("fs"), () => setTimeout("print(1)", 0)]) {
  try { f(); print("ESCAPED") } catch (e) { print(e.name) }
}
print("healthy")
)JS");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_EQ(r.out, "none\nundefined\tfalse\nReferenceError\nReferenceError\nReferenceError\nReferenceError\nhealthy\n");
}

// WebAssembly would compile code from bytes; SharedArrayBuffer and Atomics.wait would block the
// loop's thread. Neither is reachable by name, by the global object's keys or by a prototype.
TEST_F(JsSandbox, WebAssemblySharedArrayBufferAndAtomicsDoNotExist) {
  auto r = js(R"JS(
print(typeof WebAssembly, typeof SharedArrayBuffer, typeof Atomics)
print(Reflect.ownKeys(globalThis).filter((k) => ["WebAssembly", "SharedArrayBuffer", "Atomics"].includes(String(k))).length)
print(globalThis["Web" + "Assembly"], globalThis["Shared" + "ArrayBuffer"], globalThis["Atom" + "ics"])
for (const f of [() => new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])),
                 () => new SharedArrayBuffer(8), () => Atomics.wait(new Int32Array(4), 0, 0, 1000)]) {
  try { f(); print("ESCAPED") } catch (e) { print(e.name) }
}
// A growable or transferable buffer is still an ordinary ArrayBuffer.
print(Object.getPrototypeOf(new Int32Array(4).buffer) === ArrayBuffer.prototype)
print("healthy")
)JS");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_EQ(r.out, "undefined\tundefined\tundefined\n0\nundefined\tundefined\tundefined\n"
                   "ReferenceError\nReferenceError\nReferenceError\ntrue\nhealthy\n");
}

// The REPL's lines are classic scripts: the same refusal there.
TEST_F(JsSandbox, ReplRefusesEvalToo) {
  std::ofstream(dir_ / "repl.txt") << "eval('1 + 1')\nnew Function('return 1')\n1 + 1\n";
  auto r = llmspell::test::runShell("cd " + shellQuote(dir_.string()) + " && timeout 60 " +
                                    llmspell::test::cliPath() + " repl --engine js <repl.txt 2>&1");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_EQ(r.out.find("ESCAPED"), std::string::npos) << r.out;
  EXPECT_EQ(replaced(r.out, kCodeGen, "CODEGEN"),
            "error[script_error]: CODEGEN\nerror[script_error]: CODEGEN\n2\n");
}

// ---- import ----

// Dynamic import() is refused whatever it names, before anything is read: an absolute path, a
// URL, a path that climbs out, a file of the spell's own. Whether the target exists is not told.
TEST_F(JsSandbox, DynamicImportIsRefusedWhateverItNames) {
  const std::string outside = (dir_ / "outside").string();
  auto r = spell(R"JS(
for (const spec of [")JS" + outside + R"JS(/lib.js", ")JS" + outside + R"JS(/missing.js", "/etc/passwd", "https://example.com/x.js",
                    "data:text/javascript,print('DATA-RAN')", "file:///etc/passwd", "../outside/lib.js",
                    "../outside/missing.js", "./lib.js", "fs", "node:fs"]) {
  try { await import(spec); print("ESCAPED", spec) } catch (e) { print(e.code, e.message) }
}
print("healthy")
)JS");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_FALSE(has(r, "ESCAPED")) << r.out;
  EXPECT_FALSE(has(r, "OUTSIDE-RAN") || has(r, "DATA-RAN\n") || has(r, "root:")) << r.out;
  // One answer for every specifier (the specifier aside).
  const std::string tail = "'): dynamic import is not available in spells; use a static import of a file inside the "
                           "spell's directory\n";
  std::string expected;
  for (const std::string& spec : {outside + "/lib.js", outside + "/missing.js", std::string("/etc/passwd"),
                                 std::string("https://example.com/x.js"),
                                 std::string("data:text/javascript,print('DATA-RAN')"), std::string("file:///etc/passwd"),
                                 std::string("../outside/lib.js"), std::string("../outside/missing.js"),
                                 std::string("./lib.js"), std::string("fs"), std::string("node:fs")})
    expected += "permission_denied\timport('" + spec + tail;
  EXPECT_EQ(r.out, expected + "healthy\n");
}

TEST_F(JsSandbox, DynamicImportFromExecIsRefused) {
  auto r = js("try { await import('/etc/passwd') } catch (e) { print(e instanceof LlmspellError, e.code) } "
              "print('healthy')");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_EQ(r.out, "true\tpermission_denied\nhealthy\n");
}

// A static import by absolute path, URL or package name is refused before linking: nothing of the
// module runs and the spell's own code does not run either.
TEST_F(JsSandbox, StaticImportOfAnAbsolutePathUrlOrPackageIsRefused) {
  const std::string outside = (dir_ / "outside").string();
  for (const std::string& spec : {outside + "/lib.js", outside + "/missing.js", std::string("/etc/passwd"),
                                 std::string("https://example.com/x.js"), std::string("file:///etc/passwd"),
                                 std::string("fs"), std::string("node:fs"), std::string("child_process"),
                                 std::string("node:child_process")}) {
    auto r = spell("import x from '" + spec + "';\nprint('SPELL-RAN', x);\n");
    EXPECT_EQ(r.exit, 3) << spec << ": " << r.out;
    EXPECT_EQ(r.out, "error[permission_denied]: import '" + spec +
                         "': spells import files of their own by relative path ('./lib.js'); there are no packages "
                         "or Node modules\n")
        << spec;
  }
}

// `../` out of the spell's directory, a link inside it that leads out, or a file inside it that
// is not a module: refused without a read grant, with one answer whether the target exists or not.
TEST_F(JsSandbox, StaticImportOutsideTheSpellsDirectoryIsRefused) {
  stdfs::create_directories(dir_ / "sp" / "sub");
  stdfs::create_symlink(dir_ / "outside" / "lib.js", dir_ / "sp" / "link.js");
  stdfs::create_symlink(dir_ / "outside" / "secret.txt", dir_ / "sp" / "secret.js");
  stdfs::create_symlink(dir_ / "outside" / "missing.js", dir_ / "sp" / "dead.js");
  stdfs::create_directory_symlink(dir_ / "outside", dir_ / "sp" / "odir");
  stdfs::create_directory_symlink("/etc", dir_ / "sp" / "etc");
  std::ofstream(dir_ / "sp" / "data.txt") << "TOPSECRET-data\n";
  for (const std::string spec : {"../outside/lib.js", "../outside/missing.js", "./sub/../../outside/lib.js",
                                 "../../../../../../../etc/passwd", "./link.js", "./secret.js", "./dead.js",
                                 "./odir/lib.js", "./etc/passwd", "./data.txt"}) {
    auto r = spell("import x from '" + spec + "';\nprint('SPELL-RAN', x);\n");
    EXPECT_EQ(r.exit, 3) << spec << ": " << r.out;
    EXPECT_TRUE(has(r, "error[permission_denied]: import '" + spec +
                           "': without a read grant only .js or .mjs files inside the spell's directory can be run"))
        << spec << ": " << r.out;
    EXPECT_FALSE(has(r, "SPELL-RAN") || has(r, "OUTSIDE-RAN") || has(r, "TOPSECRET") || has(r, "root:")) << r.out;
  }
  // What exists and what does not read the same (the names aside).
  auto live = spell("import x from './link.js';\n");
  auto dead = spell("import x from './dead.js';\n");
  EXPECT_EQ(replaced(live.out, "link.js", "X"), replaced(dead.out, "dead.js", "X"));
  // A file of the spell's own still imports.
  auto own = spell("import x from './lib.js';\nprint(x);\n");
  EXPECT_EQ(own.exit, 0) << own.out;
  EXPECT_EQ(own.out, "inside-lib\n");
}

// Static import is for spell files; in exec code it is a syntax error, not a way out.
TEST_F(JsSandbox, StaticImportInExecCodeIsASyntaxError) {
  auto r = js("import fs from 'fs'; print('ESCAPED')");
  EXPECT_EQ(r.exit, 1) << r.out;
  EXPECT_TRUE(has(r, "error[invalid_argument]: syntax error: Cannot use import statement outside a module")) << r.out;
  EXPECT_FALSE(has(r, "ESCAPED")) << r.out;
}

// ---- prototype pollution ----

// The host takes own enumerable data of the values it receives: fields added to Object.prototype
// or Array.prototype (even throwing getters) are not seen, inherited fields are not read.
TEST_F(JsSandbox, PollutedObjectPrototypeIsNotSeenByTheHost) {
  auto r = js(R"JS(
Object.prototype.polluted = "yes";
Object.defineProperty(Object.prototype, "evil", {get() { throw new Error("getter ran") }, enumerable: true});
Array.prototype.extra = "yes";
Array.prototype[Symbol.iterator] = function* () { yield "evil" };
print(json.encode({a: 1}), json.encode([1, 2]), json.encode(Object.create({inherited: 1})))
state.set("k", {a: 1});
print(json.encode(state.get("k")))
print(json.encode(json.decode('{"a": {"b": [1]}}')))
print("healthy")
)JS");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_EQ(r.out, "{\"a\":1}\t[1,2]\t{}\n{\"a\":1}\n{\"a\":{\"b\":[1]}}\nhealthy\n");
}

// Setters on Object.prototype do not change what the host hands back: results are built with
// their own fields (the setter never runs) and host errors keep their code. (That the setter
// runs at all while a host error is built is the bug of the DISABLED_ tests below.)
TEST_F(JsSandbox, SettersOnObjectPrototypeDoNotChangeHostResults) {
  auto r = js(R"JS(
for (const k of ["a", "b", "text", "code", "message", "retryable"])
  Object.defineProperty(Object.prototype, k, {set(v) { print("SETTER", k) }, configurable: true});
const v = json.decode('{"a": 1, "b": {"text": "t"}}');
print(json.encode(v), v.a, v.b.text);
print((await llm.chat("hi", {model: "mock/echo"})).text)
try { fs.read("/etc/passwd") } catch (e) { print(e.code, e.retryable, e.message.length > 0) }
print("healthy")
)JS");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_EQ(replaced(replaced(r.out, "SETTER\tcode\n", ""), "SETTER\tretryable\n", ""),
            "{\"a\":1,\"b\":{\"text\":\"t\"}}\t1\tt\nhi\npermission_denied\tfalse\ttrue\nhealthy\n");
}

// FIXED (was an engine bug): a stop that lands while the host builds an error object (a setter on
// Object.prototype that loops, run by LlmspellError's constructor inside makeError) becomes a
// catchable exception: NewInstance fails under TerminateExecution, makeError falls back to
// v8::Exception::Error and throwError throws it, which replaces the termination. The spell's
// catch/finally then runs after the time limit (pure JavaScript keeps running; host calls are
// refused silently) until the hard stop kills the process at twice the limit, reported as "a
// built-in call did not return". Repros:
//   exec --engine js --timeout 2 "Object.defineProperty(Object.prototype, 'code', {set(v) { for (;;) {} }});
//     try { fs.read('/etc/passwd') } catch (e) { print('RESUMED'); let n = 0; for (let i = 0; i < 3e8; i++) n++; print(n) }"
//     -> prints RESUMED and 300000000, then time limit exceeded (exit 3)
//   ... catch (e) { print('RESUMED'); for (;;) {} }  -> RESUMED, then the hard stop after 4 s
TEST_F(JsSandbox, AStopWhileTheHostBuildsAnErrorCannotBeCaught) {
  // Fixed by defining LlmspellError's fields instead of assigning them: the spell's setter never
  // runs while the host builds an error, so the host call fails with its own code, in time.
  // (throwError also throws nothing while the spell is being stopped: a stop cannot be replaced
  // by an error the spell could catch.)
  for (const std::string call : {"fs.read('/etc/passwd')", "llm.chta", "json.decode('{')"}) {
    auto r = js("Object.defineProperty(Object.prototype, 'code', {set(v) { for (;;) {} }});"
                "try { " + call + " } catch (e) { print('caught', e.code) }",
                "--timeout 2");
    EXPECT_EQ(r.exit, 0) << call << ": " << r.out;
    EXPECT_TRUE(has(r, "caught\t")) << call << ": " << r.out;
    EXPECT_FALSE(has(r, "did not return")) << call << ": " << r.out;
  }
  // A stop during the spell's own code, inside a catch, is not caught.
  auto r = js("try { json.decode('{') } catch (e) { for (;;) {} } finally { print('RESUMED') }", "--timeout 2");
  expectStop(r, "time limit of 2s exceeded");
  EXPECT_FALSE(has(r, "RESUMED")) << r.out;
}

// FIXED (was an engine bug): makeError built host errors with `new LlmspellError(...)`, whose constructor
// assigns `this.code = code` (and retryable, details): setters on Object.prototype run inside
// the host's error construction, and a throwing one makes NewInstance fail; the fallback is a
// plain Error without a code, so a refused fs.read ends the run as script_error (exit 1)
// instead of permission_denied (exit 3). (Defining the fields in the class, e.g. with
// Object.defineProperty or class fields, would keep the spell's setters out.) Repro:
//   exec --engine js 'Object.defineProperty(Object.prototype, "code", {set(v){ throw 1 }}); fs.read("/etc/passwd")'
TEST_F(JsSandbox, AThrowingSetterOnObjectPrototypeDoesNotTakeTheCodeOffHostErrors) {
  auto quiet = js("for (const k of ['code', 'retryable', 'details']) Object.defineProperty(Object.prototype, k, "
                  "{set(v) { print('SETTER', k) }}); try { fs.read('/etc/passwd') } catch (e) { print(e.code) }");
  EXPECT_EQ(quiet.out, "permission_denied\n");
  auto caught = js("Object.defineProperty(Object.prototype, 'code', {set(v) { throw new Error('setter') }});"
                   "try { fs.read('/etc/passwd') } catch (e) { print(e instanceof LlmspellError, e.code) }");
  EXPECT_EQ(caught.out, "true\tpermission_denied\n");
  auto uncaught = js("Object.defineProperty(Object.prototype, 'code', {set(v) { throw new Error('setter') }});"
                     "fs.read('/etc/passwd')");
  EXPECT_EQ(uncaught.exit, 3) << uncaught.out;
  EXPECT_TRUE(has(uncaught, "error[permission_denied]: read access to /etc/passwd is not granted")) << uncaught.out;
}

// FIXED (was an engine bug): errorFromJs read `code` with Get, so a code inherited from Object.prototype
// becomes the run's error code; JS_NOTES says only the thrown object's own string code counts.
// A spell can make any exception look like a limit stop (exit 3). Repro:
//   exec --engine js 'Object.prototype.code = "limit_exceeded"; throw new Error("x")'  -> error[limit_exceeded]: x, exit 3
TEST_F(JsSandbox, AnInheritedCodeIsNotTheErrorsCode) {
  auto r = js("Object.prototype.code = 'limit_exceeded'; throw new Error('plain')");
  EXPECT_EQ(r.exit, 1) << r.out;
  EXPECT_TRUE(has(r, "error[script_error]: plain")) << r.out;
}

// Object.prototype.then turns every object into a thenable: awaiting a host result adopts it, as
// the language says. That only changes what the spell itself sees; a `then` that never settles
// ends the run as a wait that cannot finish, and one that loops is stopped by the time limit.
TEST_F(JsSandbox, ObjectPrototypeThenOnlyConfusesTheSpellItself) {
  auto adopted = js("Object.prototype.then = function (resolve) { resolve('adopted') };"
                    "print(await llm.chat('hi', {model: 'mock/echo'}));"
                    "delete Object.prototype.then; print((await llm.chat('hi', {model: 'mock/echo'})).text)");
  EXPECT_EQ(adopted.exit, 0) << adopted.out;
  EXPECT_EQ(adopted.out, "adopted\nhi\n");

  auto never = js("Object.prototype.then = function () {}; await llm.chat('hi', {model: 'mock/echo'}); print('AFTER')");
  EXPECT_EQ(never.exit, 1) << never.out;
  EXPECT_FALSE(has(never, "AFTER")) << never.out;
  EXPECT_TRUE(has(never, "the spell is waiting for something that can never happen")) << never.out;

  auto loops = js("Object.defineProperty(Object.prototype, 'then', {get() { for (;;) {} }});"
                  "await llm.chat('hi', {model: 'mock/echo'}); print('AFTER')",
                  "--timeout 2");
  expectStop(loops, "time limit of 2s exceeded");
  EXPECT_FALSE(has(loops, "AFTER")) << loops.out;
}

// Host objects: a spell may replace their methods (for itself), but a host method called on the
// wrong receiver (another host type, an object inheriting from a host object, a Proxy of one, a
// plain object) is refused; the host works from its own handle, not the object's fields.
TEST_F(JsSandbox, HostObjectPrototypesAndReceiversCannotConfuseTheHost) {
  auto r = js(R"JS(
const a = agent.create({model: "mock/echo"}), s = llm.session({model: "mock/echo"}), ch = channel(1);
const A = Object.getPrototypeOf(a);
for (const self of [s, ch, Object.create(a), new Proxy(a, {}), {}, json.encode]) {
  try { A.info.call(self); print("ESCAPED") } catch (e) { print(e.code) }
}
a.model = "mock/other"; a.polluted = 1;
print(A.info.call(a).model)
const orig = A.run;
A.run = async () => "replaced";
print(await agent.create({model: "mock/echo"}).run("x"))
A.run = orig;
print((await a.run("back")).text)
print("healthy")
)JS");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_FALSE(has(r, "ESCAPED")) << r.out;
  EXPECT_EQ(r.out, "invalid_argument\ninvalid_argument\ninvalid_argument\ninvalid_argument\ninvalid_argument\n"
                   "invalid_argument\nmock/echo\nreplaced\nback\nhealthy\n");
}

// ---- argument conversion ----

// A Proxy cannot cross into the host, at any depth, and none of its traps runs.
TEST_F(JsSandbox, ProxiesAreRefusedWithoutRunningTheirTraps) {
  auto r = js(R"JS(
const traps = {};
for (const t of ["get", "has", "ownKeys", "getOwnPropertyDescriptor", "getPrototypeOf"])
  traps[t] = () => { print("TRAP", t); throw new Error("trap " + t) };
for (const v of [new Proxy({}, traps), {nested: [new Proxy([], traps)]}, new Proxy(function () {}, traps)]) {
  try { json.encode(v); print("ESCAPED") } catch (e) { print(e.code, e.message) }
}
try { await sleep(new Proxy({}, traps)) } catch (e) { print(e.code) }
print("healthy")
)JS");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_FALSE(has(r, "TRAP")) << r.out;
  const std::string refused = "invalid_argument\tjson.encode: a Proxy cannot be passed to the host (pass a plain object)\n";
  EXPECT_EQ(r.out, refused + refused + refused + "invalid_argument\nhealthy\n");
}

// A getter that throws while the host reads an argument: the spell's own exception comes back to
// it, and the run goes on.
TEST_F(JsSandbox, AGetterThatThrowsDuringConversionThrowsToTheSpell) {
  auto r = js(R"JS(
try { json.encode({get x() { throw new Error("boom") }}); print("ESCAPED") } catch (e) { print(e.name, e.message) }
try { json.encode([1, {deep: {get y() { throw {code: "mine"} }}}]) } catch (e) { print(e.code) }
try { state.set("k", {get v() { throw new RangeError("r") }}) } catch (e) { print(e.name) }
print(json.encode({get x() { return 2 }}))
print("healthy")
)JS");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_EQ(r.out, "Error\tboom\nmine\nRangeError\n{\"x\":2}\nhealthy\n");
}

// A getter that loops while the host reads an argument is stopped by the time limit, and no
// catch or finally around the host call runs after the stop.
TEST_F(JsSandbox, AGetterThatLoopsDuringConversionIsStopped) {
  auto r = js("try { json.encode({get x() { for (;;) {} }}) } catch (e) { print('RESUMED caught', e) } "
              "finally { print('RESUMED finally') } print('RESUMED after')",
              "--timeout 2");
  expectStop(r, "time limit of 2s exceeded");
  EXPECT_FALSE(has(r, "RESUMED")) << r.out;
  // The same through an Array.prototype getter for a hole.
  auto hole = js("Object.defineProperty(Array.prototype, 0, {get() { for (;;) {} }}); json.encode([, 1])", "--timeout 2");
  expectStop(hole, "time limit of 2s exceeded");
}

// The host does not convert objects to strings or numbers: Symbol.toPrimitive, toString and
// valueOf traps never run, the argument is refused with its expected type. Symbols cannot cross.
TEST_F(JsSandbox, ToPrimitiveTrapsOnArgumentsNeverRun) {
  auto r = js(R"JS(
const traps = [{[Symbol.toPrimitive]() { print("TRAP"); for (;;) {} }},
               {toString() { print("TRAP"); throw new Error("ts") }, valueOf() { print("TRAP"); throw new Error("vo") }},
               {toString() { print("TRAP"); return "Hello World" }}];
for (const t of traps) {
  try { text.slugify(t); print("ESCAPED") } catch (e) { print(e.code, e.message) }
}
try { await sleep({valueOf() { print("TRAP"); return 0 }}) } catch (e) { print(e.code) }
try { json.encode(Symbol("s")) } catch (e) { print(e.code, e.message) }
try { json.encode({[Symbol("k")]: 1, v: Symbol.iterator}) } catch (e) { print(e.code) }
print("healthy")
)JS",
              "--timeout 10");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_FALSE(has(r, "TRAP")) << r.out;
  const std::string refused = "invalid_argument\ttext.slugify: argument 1 'text' expected string, got object\n";
  EXPECT_EQ(r.out, refused + refused + refused +
                       "invalid_argument\ninvalid_argument\tjson.encode: a Symbol cannot be passed to the host\n"
                       "invalid_argument\nhealthy\n");
}

// Cyclic and very deep values are refused by depth, not followed.
TEST_F(JsSandbox, CyclicAndDeepValuesAreRefused) {
  auto r = js(R"JS(
const a = []; a[0] = a;
const o = {}; o.self = o;
let deep = {}; for (let i = 0; i < 100000; i++) deep = {deep};
for (const v of [a, o, deep]) {
  try { json.encode(v); print("ESCAPED") } catch (e) { print(e.code, e.message) }
}
print("healthy")
)JS");
  EXPECT_EQ(r.exit, 0) << r.out;
  const std::string refused = "invalid_argument\tjson.encode: value is nested too deeply (or cyclic)\n";
  EXPECT_EQ(r.out, refused + refused + refused + "healthy\n");
}

// ---- memory ----

// An ArrayBuffer (or typed array) over the limit is a stop, not an allocation: the buffer is
// charged before it exists, so the process never holds it.
TEST_F(JsSandbox, HugeArrayBuffersAndTypedArraysStopTheSpell) {
  for (const std::string alloc : {"new ArrayBuffer(2 ** 40)", "new ArrayBuffer(2 ** 31)", "new Float64Array(2 ** 28)",
                                  "new Uint8Array(new ArrayBuffer(2 ** 33))", "new BigInt64Array(2 ** 27)"}) {
    auto r = js("try { const b = " + alloc + "; print('ALLOCATED', b.byteLength) } catch (e) { print('RESUMED', e) }",
                "--memory-limit 64");
    expectStop(r, "memory limit of 64 MiB exceeded");
    EXPECT_FALSE(has(r, "ALLOCATED") || has(r, "RESUMED")) << alloc << ": " << r.out;
  }
  auto many = js("const keep = []; try { for (;;) keep.push(new Uint8Array(1 << 20)) } catch (e) { print('RESUMED') }",
                 "--memory-limit 64");
  expectStop(many, "memory limit of 64 MiB exceeded");
  EXPECT_FALSE(has(many, "RESUMED")) << many.out;
}

// Strings: the language's own length limit is a catchable RangeError (the run goes on); many
// strings kept alive are a memory stop.
TEST_F(JsSandbox, StringBombsAreALanguageErrorOrAMemoryStop) {
  auto doubling = js("let s = 'x'; try { for (;;) s += s } catch (e) { print(e.name) } "
                     "try { 'x'.repeat(2 ** 30) } catch (e) { print(e.name) } print('healthy', json.encode([1]))",
                     "--memory-limit 64");
  EXPECT_EQ(doubling.exit, 0) << doubling.out;
  EXPECT_EQ(doubling.out, "RangeError\nRangeError\nhealthy\t[1]\n");
  auto kept = js("const keep = []; for (;;) keep.push('y'.repeat(1 << 20) + keep.length)", "--memory-limit 64");
  expectStop(kept, "memory limit of 64 MiB exceeded");
}

TEST_F(JsSandbox, ArrayAndObjectBombsStopTheSpell) {
  auto objects = js("const a = []; try { for (;;) a.push({i: a.length}) } catch (e) { print('RESUMED') }",
                    "--memory-limit 64");
  expectStop(objects, "memory limit of 64 MiB exceeded");
  EXPECT_FALSE(has(objects, "RESUMED")) << objects.out;
  auto numbers = js("const a = []; for (let i = 0; i < 1e9; i++) a.push(i)", "--memory-limit 64");
  expectStop(numbers, "memory limit of 64 MiB exceeded");
}

// One large allocation inside a built-in (an array's backing store, a Map's table, Array.from,
// String.prototype.replace, JSON.stringify) past the cap ends the run as a memory stop, not as
// V8's fatal OOM (these died of SIGTRAP, exit 133, before main's 635527c).
TEST_F(JsSandbox, LargeAllocationsInsideBuiltinsStopAtTheMemoryLimit) {
  for (const std::string code :
       {"new Array(1e8).fill(0)", "const m = new Map(); for (let i = 0; ; i++) m.set(i, i)",
        "Array.from({length: 5e7}, (_, i) => i)", "'ab'.repeat(1 << 26).replace(/a/g, 'aaaa')",
        "JSON.stringify(new Array(2 ** 25).fill('abcdefgh'))"}) {
    auto r = js("try { " + code + " } catch (e) { print('RESUMED') }", "--memory-limit 64");
    EXPECT_EQ(r.exit, 3) << code << ": " << r.out.substr(0, 400);
    EXPECT_TRUE(has(r, "error[limit_exceeded]: memory limit of 64 MiB exceeded")) << code << ": " << r.out.substr(0, 400);
    EXPECT_FALSE(has(r, "RESUMED") || has(r, "Fatal")) << code << ": " << r.out.substr(0, 400);
  }
}

// Splitting a string of 2^28 characters into an array of that length is V8's "Fatal JavaScript
// invalid size error" (a CHECK in V8 10.2 that bypasses the OOM handler): it used to kill the
// process with SIGTRAP (exit 133). Under a memory limit the process guard stops it first; without
// one, V8's fatal error is reported as a limit stop (exit 3) instead of a crash.
TEST_F(JsSandbox, SplittingAHugeStringIsALimitStopNotACrash) {
  if (kSanitized) GTEST_SKIP() << "the process memory guard is off under AddressSanitizer";
  auto capped = js("'x'.repeat(2 ** 28).split('')", "--memory-limit 64");
  EXPECT_EQ(capped.exit, 3) << capped.out.substr(0, 400);
  EXPECT_TRUE(has(capped, "error[limit_exceeded]: memory limit of 64 MiB exceeded")) << capped.out.substr(0, 400);
  auto uncapped = js("'x'.repeat(2 ** 28).split('')", "--memory-limit 1024");
  EXPECT_EQ(uncapped.exit, 3) << uncapped.out.substr(0, 400);
  EXPECT_TRUE(has(uncapped, "error[limit_exceeded]: the JavaScript engine stopped on a fatal error")) << uncapped.out;
}

// Memory the JavaScript heap does not count is held to the limit too: the host's copy of a
// string passed to it (the rope below is small until the copy flattens it), and what a built-in
// allocates for itself while it runs (V8's JSON.parse keeps its working stack outside the heap:
// this parse grew the process by 800 MB under a 64 MiB limit and succeeded). The first is
// checked when the copy is made; the second is the process guard (spell/runner.cpp). A string
// that only looks big ('x'.repeat(2 ** 28) is a rope of 28 pieces) uses no memory and is not
// stopped.
TEST_F(JsSandbox, BigStringsAndParsedValuesCountAgainstTheMemoryLimit) {
  if (kSanitized) GTEST_SKIP() << "the process memory guard is off under AddressSanitizer";
  auto toHost = js("let s = 'x'; for (let i = 0; i < 25; i++) s += s; print(json.encode(s).length)", "--memory-limit 64");
  expectStop(toHost, "memory limit of 64 MiB exceeded");
  auto parsed = js("print(JSON.parse('[' + '1,'.repeat(3e7) + '1]').length)", "--memory-limit 64");
  expectStop(parsed, "memory limit of 64 MiB exceeded");
  auto rope = js("print('x'.repeat(2 ** 28).length)", "--memory-limit 64");
  EXPECT_EQ(rope.exit, 0) << rope.out.substr(0, 400);
  EXPECT_EQ(rope.out, "268435456\n");
}

// ---- recursion ----

// Deep recursion is the language's RangeError: catchable, and the process stays healthy, also
// when the recursion goes through the host (a getter the host runs calls the host again).
TEST_F(JsSandbox, DeepRecursionIsACatchableRangeError) {
  auto r = js(R"JS(
function f(n) { return f(n + 1) + 1 }
try { f(0) } catch (e) { print(e.name, e.message) }
function g() { return json.encode({get x() { return g() }}) }
try { g() } catch (e) { print(e.name) }
print("healthy", json.encode([1]))
)JS");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_EQ(r.out, "RangeError\tMaximum call stack size exceeded\nRangeError\nhealthy\t[1]\n");
  auto uncaught = js("function f() { return f() + 1 } f()");
  EXPECT_EQ(uncaught.exit, 1) << uncaught.out;
  EXPECT_TRUE(has(uncaught, "error[script_error]: Maximum call stack size exceeded")) << uncaught.out;
  // Recursing again from every catch is a loop the time limit stops.
  auto again = js("function f() { try { return f() } catch (e) { return f() } } f(); print('AFTER')", "--timeout 2");
  expectStop(again, "time limit of 2s exceeded");
  EXPECT_FALSE(has(again, "AFTER")) << again.out;
}

// ---- microtask loops and backtracking ----

TEST_F(JsSandbox, MicrotaskLoopsAreStopped) {
  auto awaits = js("for (;;) await null", "--timeout 2");
  expectStop(awaits, "time limit of 2s exceeded");
  auto chain = js("Promise.resolve().then(function f() { return Promise.resolve().then(f) }); print('main done')",
                  "--timeout 2");
  expectStop(chain, "time limit of 2s exceeded");
  EXPECT_TRUE(has(chain, "main done")) << chain.out;
  auto flat = js("Promise.resolve().then(function f() { Promise.resolve().then(f) }); await sleep(0.1); print('AFTER')",
                 "--timeout 2");
  expectStop(flat, "time limit of 2s exceeded");
  EXPECT_FALSE(has(flat, "AFTER")) << flat.out;
  // A chain that grows without a time limit meets the memory limit.
  auto growing = js("Promise.resolve().then(function f() { return Promise.resolve().then(f) })", "--memory-limit 64");
  expectStop(growing, "memory limit of 64 MiB exceeded");
}

TEST_F(JsSandbox, CatastrophicRegExpBacktrackingIsStopped) {
  auto r = js("try { print(/(a+)+b/.test('a'.repeat(40) + 'c')) } catch (e) { print('RESUMED', e) } "
              "finally { print('RESUMED finally') }",
              "--timeout 2");
  expectStop(r, "time limit of 2s exceeded");
  EXPECT_FALSE(has(r, "RESUMED")) << r.out;
  auto replace = js("'x'.repeat(30).replace(/^(x|x)*y$/, '')", "--timeout 2");
  expectStop(replace, "time limit of 2s exceeded");
}

// ---- nothing resumes after a stop ----

TEST_F(JsSandbox, FinallyBlocksAndPromiseHandlersDoNotResumeAfterAStop) {
  for (const std::string code :
       {"try { for (;;) {} } finally { print('RESUMED') }", "try { for (;;) {} } catch (e) { print('RESUMED', e) }",
        "Promise.resolve().then(() => print('RESUMED')); for (;;) {}",
        "sleep(0.1).then(() => print('RESUMED'), () => print('RESUMED')); for (;;) {}",
        "(async () => { try { await sleep(30) } finally { print('RESUMED') } })(); await sleep(30)",
        "try { await sleep(30) } catch (e) { print('RESUMED', e) } finally { print('RESUMED') }",
        "await spawn(async () => { try { for (;;) {} } finally { print('RESUMED') } })"}) {
    auto r = js(code, "--timeout 2");
    expectStop(r, "time limit of 2s exceeded");
    EXPECT_FALSE(has(r, "RESUMED")) << code << ": " << r.out;
  }
  auto memory = js("const a = []; try { for (;;) a.push({}) } finally { print('RESUMED') }", "--memory-limit 32");
  expectStop(memory, "memory limit of 32 MiB exceeded");
  EXPECT_FALSE(has(memory, "RESUMED")) << memory.out;
}

// A callback the host calls (a tool's run, a spawned function) that loops, directly or after
// an await, is stopped like the main chunk; one that returns a thenable whose `then` getter
// loops too.
TEST_F(JsSandbox, CallbacksThatLoopAreStopped) {
  for (const std::string code : {"tools.define({name: 't', run: () => { for (;;) {} }}); await tools.call('t', {})",
                                 "tools.define({name: 't', run: async () => { await null; for (;;) {} }}); "
                                 "await tools.call('t', {})",
                                 "tools.define({name: 't', run: () => ({get then() { for (;;) {} }})}); "
                                 "await tools.call('t', {})",
                                 "events.on('x.y', () => { for (;;) {} }); events.emit('x.y', {}); await sleep(5)"}) {
    auto r = js(code + "; print('AFTER')", "--timeout 2");
    expectStop(r, "time limit of 2s exceeded");
    EXPECT_FALSE(has(r, "AFTER")) << code << ": " << r.out;
  }
}

// A callback that returns a thenable is adopted as await does: a `then` that loops is stopped
// (it crashed the process at the time limit, "Fatal error in v8::ToLocalChecked", exit 133,
// before main's b244ee5), and one that throws rejects the call.
TEST_F(JsSandbox, ACallbackReturningAThenableIsAdoptedAndStopped) {
  auto thrown = js("tools.define({name: 't', run: () => ({then() { throw new Error('then threw') }})});"
                   "try { await tools.call('t', {}) } catch (e) { print(e.code, e.message) }"
                   "print(await spawn(() => ({then(resolve) { resolve(4) }})))");
  EXPECT_EQ(thrown.exit, 0) << thrown.out;
  EXPECT_EQ(thrown.out, "script_error\tthen threw\n4\n");
  for (const std::string code : {"await spawn(() => ({then() { for (;;) {} }}))",
                                 "tools.define({name: 't', run: () => ({then() { for (;;) {} }})}); "
                                 "await tools.call('t', {})"}) {
    auto r = js(code, "--timeout 2");
    expectStop(r, "time limit of 2s exceeded");
    EXPECT_FALSE(has(r, "Fatal error")) << code << ": " << r.out;
  }
}

// ---- errors the host formats ----

// Thrown values whose formatting throws: the run ends with script_error and a placeholder text,
// without a crash.
TEST_F(JsSandbox, ThrownValuesWhoseFormattingThrowsEndTheRunCleanly) {
  for (const std::string code :
       {"throw {toString() { throw 1 }}", "throw {toString() { throw new Error('inner') }, valueOf() { throw 2 }}",
        "class E extends Error { get message() { throw new Error('inner') } }; throw new E()", "throw Symbol('s')",
        "throw new Proxy({}, {get() { throw 1 }})",
        "throw {[Symbol.toPrimitive]() { throw 1 }}"}) {
    auto r = js(code);
    EXPECT_EQ(r.exit, 1) << code << ": " << r.out;
    EXPECT_TRUE(has(r, "error[script_error]: (a value whose toString failed)")) << code << ": " << r.out;
  }
  // A message that is not a string, a code that is not one, a stack getter that throws.
  auto message = js("throw {message: {toString() { throw 1 }}}");
  EXPECT_EQ(message.exit, 1) << message.out;
  EXPECT_TRUE(has(message, "error[script_error]: ")) << message.out;
  auto code = js("throw {code: {toString() { throw 1 }}, message: 'm'}");
  EXPECT_EQ(code.out, "error[script_error]: m\n");
  auto stack = js("const e = new Error('x'); Object.defineProperty(e, 'stack', {get() { throw 2 }}); throw e");
  EXPECT_EQ(stack.exit, 1) << stack.out;
  EXPECT_TRUE(has(stack, "error[script_error]: x")) << stack.out;
  auto nul = js("throw null");
  EXPECT_EQ(nul.out, "error[script_error]: null\n");
}

// Formatting that loops is stopped by the time limit and reported as the stop.
TEST_F(JsSandbox, ThrownValuesWhoseFormattingLoopsAreStopped) {
  for (const std::string code :
       {"throw {get message() { for (;;) {} }}", "throw {get code() { for (;;) {} }}",
        "throw {code: 'x', get retryable() { for (;;) {} }}", "throw {code: 'x', message: 'm', details: {get d() { for (;;) {} }}}",
        "class E extends Error { get message() { for (;;) {} } }; throw new E()",
        "try { null.x } catch (e) { Object.defineProperty(e, 'stack', {get() { for (;;) {} }}); throw e }"}) {
    auto r = js(code, "--timeout 2");
    expectStop(r, "time limit of 2s exceeded");
  }
}

// A stop while the host turns a thrown value into text (its toString or Symbol.toPrimitive
// loops) is the stop, not "script_error: (a value whose toString failed)" (it was, exit 1,
// before main's 635527c).
TEST_F(JsSandbox, AStopWhileFormattingAThrownValueIsTheStop) {
  for (const std::string code : {"throw {toString() { for (;;) {} }}", "throw {[Symbol.toPrimitive]() { for (;;) {} }}"}) {
    auto r = js(code, "--timeout 2");
    expectStop(r, "time limit of 2s exceeded");
  }
}

// ---- grants: fs, env, http (as the Lua sandbox cases) ----

// Reading without a grant, by traversal out of a grant, or through links inside a grant that
// lead out: permission_denied, nothing of the file shown, the same answer whether it exists.
TEST_F(JsSandbox, FsReadsOutsideTheGrantsAreRefused) {
  stdfs::create_directory_symlink("/etc", dir_ / "g" / "escape");
  stdfs::create_symlink(dir_ / "outside" / "secret.txt", dir_ / "g" / "secret");
  stdfs::create_symlink(dir_ / "outside" / "missing.txt", dir_ / "g" / "dead");
  const std::string outside = (dir_ / "outside").string();
  auto r = js(R"JS(
const paths = ["/etc/passwd", ")JS" + outside + R"JS(/secret.txt", "outside/secret.txt", "outside/missing.txt",
               "g/../outside/secret.txt", "g/../outside/missing.txt", "g/../../../../../../../etc/passwd",
               "g/escape/passwd", "g/escape/missing", "g/secret", "g/dead"];
for (const p of paths) {
  for (const f of [fs.read, fs.exists, fs.stat, fs.list]) {
    try { const v = f(p); print("ESCAPED", p, JSON.stringify(v)) } catch (e) { print(e.code, e.message) }
  }
}
print(fs.read("g/inside.txt").trim())
print("healthy")
)JS",
              "--allow-read=g");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_FALSE(has(r, "ESCAPED") || has(r, "TOPSECRET") || has(r, "root:")) << r.out;
  EXPECT_TRUE(has(r, "permission_denied\tread access to /etc/passwd is not granted; run with --allow-read=/etc/passwd "
                     "or add it to permissions.read in spell.yaml\n")) << r.out;
  EXPECT_TRUE(has(r, "inside\nhealthy\n")) << r.out;
  // Every denial has the one shape: existing and missing targets cannot be told apart.
  std::string masked = r.out;
  for (const std::string name : {"secret.txt", "missing.txt", "passwd", "missing", "secret", "dead"})
    masked = replaced(masked, name, "NAME");
  auto count = [&](const std::string& s) {
    size_t n = 0;
    for (size_t at = masked.find(s); at != std::string::npos; at = masked.find(s, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("permission_denied\tread access to "), 44u) << r.out;
  EXPECT_EQ(count("read access to outside/NAME is not granted"), 8u) << masked;
  EXPECT_EQ(count("read access to g/escape/NAME is not granted"), 8u) << masked;
  EXPECT_EQ(count("read access to g/../outside/NAME is not granted"), 8u) << masked;
  EXPECT_EQ(count("read access to g/NAME is not granted"), 8u) << masked;
}

// Writing without a grant, by traversal, or through links in the grant: refused, nothing written.
TEST_F(JsSandbox, FsWritesOutsideTheGrantsAreRefused) {
  stdfs::create_directory_symlink(dir_ / "outside", dir_ / "g" / "escape");
  stdfs::create_symlink(dir_ / "outside" / "secret.txt", dir_ / "g" / "secret");
  stdfs::create_symlink(dir_ / "outside" / "new.txt", dir_ / "g" / "dead");
  const std::string outside = (dir_ / "outside").string();
  auto r = js(R"JS(
const paths = [")JS" + outside + R"JS(/w.txt", "outside/w.txt", "g/../outside/w.txt", "g/escape/w.txt", "g/secret", "g/dead"];
for (const p of paths) {
  for (const f of [(p) => fs.write(p, "PWNED"), (p) => fs.append(p, "PWNED")]) {
    try { f(p); print("ESCAPED", p) } catch (e) { print(e.code) }
  }
}
for (const p of [")JS" + outside + R"JS(/secret.txt", "outside/secret.txt", "g/../outside/secret.txt", "g/escape/secret.txt",
                 "g/escape/new.d", "g/../outside/new.d"]) {
  for (const f of [fs.remove, fs.mkdir]) {
    try { f(p); print("ESCAPED", p) } catch (e) { print(e.code) }
  }
}
fs.write("g/ok.txt", "fine");
// Removing a link in the grant removes the link, not what it leads to.
fs.remove("g/secret");
print("healthy")
)JS",
              "--allow-write=g");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_FALSE(has(r, "ESCAPED")) << r.out;
  std::string expected;
  for (int i = 0; i < 24; ++i) expected += "permission_denied\n";
  EXPECT_EQ(r.out, expected + "healthy\n");
  std::string secret;
  std::getline(std::ifstream(dir_ / "outside" / "secret.txt"), secret);
  EXPECT_EQ(secret, "TOPSECRET-content");
  EXPECT_FALSE(stdfs::exists(dir_ / "outside" / "w.txt"));
  EXPECT_FALSE(stdfs::exists(dir_ / "outside" / "new.txt"));
  EXPECT_FALSE(stdfs::exists(dir_ / "outside" / "new.d"));
  EXPECT_FALSE(stdfs::is_symlink(dir_ / "g" / "secret"));
  EXPECT_TRUE(stdfs::exists(dir_ / "g" / "ok.txt"));
  // Without any grant, the spell's own directory is not writable either.
  auto none = js("try { fs.write('g/x.txt', 'x'); print('ESCAPED') } catch (e) { print(e.code) }");
  EXPECT_EQ(none.out, "permission_denied\n");
}

TEST_F(JsSandbox, EnvNeedsItsGrant) {
  auto r = js(R"JS(
for (const f of [() => env.get("LLMSPELL_SANDBOX_SECRET"), () => env.has("LLMSPELL_SANDBOX_SECRET"), () => env.get("HOME")]) {
  try { print("ESCAPED", f()) } catch (e) { print(e.code, e.message) }
}
print("healthy")
)JS");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_FALSE(has(r, "ESCAPED") || has(r, "TOPSECRET")) << r.out;
  EXPECT_TRUE(has(r, "permission_denied\tenvironment variable LLMSPELL_SANDBOX_SECRET is not granted; run with "
                     "--allow-env=LLMSPELL_SANDBOX_SECRET")) << r.out;
  auto granted = js("print(env.get('LLMSPELL_SANDBOX_SECRET')); try { env.get('HOME') } catch (e) { print(e.code) }",
                    "--allow-env=LLMSPELL_SANDBOX_SECRET");
  EXPECT_EQ(granted.exit, 0) << granted.out;
  EXPECT_EQ(granted.out, "env-TOPSECRET\npermission_denied\n");
}

// Refused before any connection is made (port 9 on loopback would not answer anyway).
TEST_F(JsSandbox, HttpNeedsTheNetGrant) {
  auto r = js(R"JS(
for (const f of [() => http.get("http://127.0.0.1:9/"), () => http.post("http://localhost:9/", "x"),
                 () => http.request({method: "GET", url: "http://[::1]:9/"})]) {
  try { await f(); print("ESCAPED") } catch (e) { print(e.code) }
}
try { await http.get("http://127.0.0.1:9/") } catch (e) { print(e.message) }
print("healthy")
)JS");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_EQ(r.out, "permission_denied\npermission_denied\npermission_denied\n"
                   "network access to 127.0.0.1 is not granted; run with --allow-net=127.0.0.1 or add it to "
                   "permissions.net in spell.yaml\nhealthy\n");
}

}  // namespace
