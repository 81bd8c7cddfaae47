// The script API as a spell sees it, through the real `llmspell` binary (issue #11's script API,
// hooks and command-line items): values keep their JSON shape across the engine boundary, nil is
// accepted where a schema admits it, mistyped names are answered with the closest names, limits
// stop uncatchably, spells take positional arguments.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "fake_provider.hpp"
#include "support/cli.hpp"

namespace {

using json = nlohmann::json;
using llmspell::test::runCli;
using llmspell::test::runShell;
using llmspell::test::shellQuote;
namespace stdfs = std::filesystem;

class ScriptApi : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/llmspell-api-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { stdfs::remove_all(dir_); }

  // Writes `code` to NAME in the test's directory; returns its path.
  std::string write(const std::string& name, const std::string& code) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << code;
    return path;
  }
  // Runs spell `code` (Lua, or Tengo when `ext` is ".tengo") with `flags`.
  llmspell::test::CliResult spell(const std::string& code, const std::string& flags = "",
                                  const std::string& ext = ".lua") {
    return runCli("run " + write("spell" + std::to_string(++n_) + ext, code) + " " + flags);
  }

  std::string dir_;
  int n_ = 0;
};

// ---- item 7: JSON arrays round-trip in Lua ----

TEST_F(ScriptApi, LuaJsonArraysRoundTrip) {
  auto r = spell(R"(
print(json.encode(json.decode("[1,null,3]")))
print(json.encode(json.decode("[]")))
print(json.encode(json.decode('{"a":[]}')))
print(json.encode(json.decode("[1,null]")))
print(json.encode(json.decode("{}")))
print(json.encode(json.array()), json.encode(json.object()), json.encode(json.array({1, 2})))
local o = json.object(); o[1] = "x"; print(json.encode(o))
local a = json.decode("[]"); a[#a + 1] = 5; print(json.encode(a))
print(json.encode({}), json.encode({1, 2}), json.encode(setmetatable({}, {__jsontype = "array"})))
)");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out,
            "[1,null,3]\n[]\n{\"a\":[]}\n[1,null]\n{}\n"
            "[]\t{}\t[1,2]\n"
            "{\"1\":\"x\"}\n"
            "[5]\n"
            "{}\t[1,2]\t[]\n");
}

// The same conversion everywhere a table becomes a value: state, events, tool results.
TEST_F(ScriptApi, LuaArraysKeepTheirShapeInStateEventsAndTools) {
  auto r = spell(R"(
state.set("k", json.decode('{"list":[],"holes":[1,null,3]}'))
print(json.encode(state.get("k"), {sort_keys = true}))
tools.define{name = "empty", parameters = {type = "object"}, run = function() return json.array() end}
print(json.encode(tools.call("empty", {})))
local got
events.on("x.y", function(e) got = e.data end)
events.emit("x.y", {items = json.array()})
sleep(0)
print(json.encode(got))
)",
                 "", ".lua");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out,
            "{\"holes\":[1,null,3],\"list\":[]}\n"
            "[]\n"
            "{\"items\":[]}\n");
}

// The length an array mark records is the spell's to change: a huge one is memory asked for,
// so the memory limit stops the spell instead of the host building the nulls.
TEST_F(ScriptApi, LuaArrayMarkLengthIsBoundedByTheMemoryLimit) {
  auto r = spell("print(pcall(json.encode, setmetatable({}, {__jsontype = 'array', n = 1000000000000})))\n",
                 "--memory-limit 16");
  EXPECT_EQ(r.exit, 3) << r.err << r.out;
  EXPECT_NE(r.err.find("error[limit_exceeded]: memory limit of 16 MiB exceeded"), std::string::npos) << r.err;
}

TEST_F(ScriptApi, TengoJsonArrayAndObject) {
  auto r = spell(R"(
json := import("json")
fmt := import("fmt")
fmt.println(string(json.encode(json.array())), " ", string(json.encode(json.object())))
)",
                 "", ".tengo");
  ASSERT_EQ(r.exit, 0) << r.err << r.out;
  EXPECT_EQ(r.out, "[] {}\n");
}


// ---- item 9: nil where the schema admits null or any ----

TEST_F(ScriptApi, LuaNilIsAcceptedWhereTheSchemaAdmitsIt) {
  auto r = spell(R"(
tools.set_approver(function() return true end)
tools.set_approver(nil)
print(json.encode(nil), schema.validate(nil, {type = "null"}).ok)
local ok, e = pcall(json.encode)
print(ok, e.code)
local ok2, e2 = pcall(state.set, "k", nil)
print(ok2, e2.code)
)");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out, "null\ttrue\nfalse\tinvalid_argument\nfalse\tinvalid_argument\n");
}

TEST_F(ScriptApi, TengoUndefinedIsAcceptedWhereTheSchemaAdmitsIt) {
  auto r = spell(R"(
fmt := import("fmt")
json := import("json")
tools := import("tools")
r := tools.set_approver(undefined)
fmt.println(is_error(r), " ", string(json.encode(undefined)))
)",
                 "", ".tengo");
  ASSERT_EQ(r.exit, 0) << r.err << r.out;
  EXPECT_EQ(r.out, "false null\n");
}

// ---- item 12: names that do not exist ----

TEST_F(ScriptApi, LuaMistypedFunctionNameSuggestsTheClosest) {
  auto r = spell("local ok, e = pcall(function() return llm.chta('x') end)\n"
                 "print(e.code, e.message)\n"
                 "json.encdoe(1)\n");
  EXPECT_EQ(r.exit, 1) << r.err;
  EXPECT_EQ(r.out, "not_found\tllm.chta does not exist; did you mean llm.chat?\n");
  EXPECT_NE(r.err.find("error[not_found]: json.encdoe does not exist; did you mean json.encode? (at spell1.lua:3)"),
            std::string::npos)
      << r.err;
}

TEST_F(ScriptApi, TengoMistypedModuleMemberSuggestsTheClosest) {
  auto r = spell("json := import(\"json\")\nx := json.encdoe(1)\n", "", ".tengo");
  EXPECT_EQ(r.exit, 1) << r.err;
  EXPECT_NE(r.err.find("error[not_found]: json.encdoe does not exist; did you mean json.encode?"), std::string::npos)
      << r.err;
}

TEST_F(ScriptApi, CliUnknownCommandAndSpellWithoutRun) {
  std::string path = write("hello.lua", "print('hi')\n");
  auto r = runCli(path);
  EXPECT_EQ(r.exit, 2);
  EXPECT_NE(r.err.find("is not a command; to run a spell: llmspell run " + path), std::string::npos) << r.err;
  r = runCli("rnu " + path);
  EXPECT_EQ(r.exit, 2);
  // `runs` (the queue's runs) is two edits from "rnu" too.
  EXPECT_NE(r.err.find("'rnu' is not a command; did you mean run or runs?"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("llmspell run FILE"), std::string::npos) << r.err;
}

// ---- positional arguments and --param ----

TEST_F(ScriptApi, ArgumentsAfterDoubleDashAreSpellArgs) {
  std::string lua = write("args.lua", "print(#spell.args, json.encode(spell.args))\n");
  auto r = runCli("run " + lua + " -- 4 2 0");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out, "3\t[\"4\",\"2\",\"0\"]\n");
  r = runCli("run " + lua);
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out, "0\t[]\n");
  std::string tengo = write("args.tengo", "fmt := import(\"fmt\")\nspell := import(\"spell\")\nfmt.println(spell.args)\n");
  r = runCli("run " + tengo + " -- a b");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out, "[\"a\", \"b\"]\n");
  r = runCli("run " + lua + " --param n=1 2");
  EXPECT_EQ(r.exit, 2);
  EXPECT_NE(r.err.find("--param expects key=value, got '2'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("after --"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("spell.args"), std::string::npos) << r.err;
}

// ---- item 11: a limit stop cannot be caught ----

// A time-limit stop while the spell waits: the wait does not resume into the script, so a pcall
// around it never sees the stop, and nothing after it runs.
TEST_F(ScriptApi, LuaPcallAroundAWaitDoesNotCatchATimeLimitStop) {
  auto r = spell("while true do print(pcall(sleep, 10)) end\n", "--timeout 0.3");
  EXPECT_EQ(r.exit, 3) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("error[limit_exceeded]: time limit of 0.3s exceeded"), std::string::npos) << r.err;
  // A task that waits in a pcall while another is stopped: the same.
  r = spell("spawn(function() while true do print('task', pcall(sleep, 10)) end end)\n"
            "while true do print('main', pcall(sleep, 10)) end\n",
            "--timeout 0.3");
  EXPECT_EQ(r.exit, 3) << r.err;
  EXPECT_EQ(r.out, "");
  // A host call made after the stop raises again at the next instruction.
  r = spell("local n = 0\n"
            "while true do n = n + 1; local ok = pcall(function() for i = 1, 1e5 do end; sleep(0) end)\n"
            "  if not ok then print('caught the stop') end end\n",
            "--timeout 0.3");
  EXPECT_EQ(r.exit, 3) << r.err;
  EXPECT_EQ(r.out.find("caught the stop"), std::string::npos) << r.out;
}

// ---- hooks that change ctx in place ----

TEST_F(ScriptApi, LuaHookThatChangesCtxInPlaceHasEffect) {
  auto r = spell(R"(
tools.define{name = "echo", parameters = {type = "object"}, run = function(a) return a end}
hooks.before("tool.call", function(ctx) ctx.args.args.added = 1 end)
hooks.after("tool.call", function(ctx) ctx.result.after = true end)
print(json.encode(tools.call("echo", {x = 1}), {sort_keys = true}))
)");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out, "{\"added\":1,\"after\":true,\"x\":1}\n");
}

TEST_F(ScriptApi, TengoHookThatChangesCtxInPlaceHasEffect) {
  auto r = spell(R"(
fmt := import("fmt")
tools := import("tools")
hooks := import("hooks")
json := import("json")
tools.define({name: "echo", parameters: {type: "object"}, run: func(a, ctx) { return a }})
hooks.before("tool.call", func(ctx) { ctx.args.args.added = 1 })
hooks.after("tool.call", func(ctx) { ctx.result.after = true })
fmt.println(string(json.encode(tools.call("echo", {x: 1}))))
)",
                 "", ".tengo");
  ASSERT_EQ(r.exit, 0) << r.err << r.out;
  EXPECT_EQ(r.out, "{\"added\":1,\"after\":true,\"x\":1}\n");
}

// ---- errors of spawned tasks keep their position ----

TEST_F(ScriptApi, LuaSpawnedTaskErrorPrintsWithItsPosition) {
  auto r = spell("local t = spawn(function()\n  sleep(0.01)\n  error('boom')\nend)\n"
                 "local ok, e = pcall(await, t)\nprint(e)\nawait(t)\n");
  EXPECT_EQ(r.exit, 1);
  EXPECT_EQ(r.out, "script_error: boom (at spell1.lua:3)\n");
  EXPECT_NE(r.err.find("error[script_error]: boom (at spell1.lua:3)"), std::string::npos) << r.err;
}

TEST_F(ScriptApi, ASpawnedTaskThatFailsUnwatchedIsReported) {
  // Nothing awaits the task: its error used to vanish (exit 0, no output).
  auto r = spell("spawn(function()\n  sleep(0.01)\n  error('lost')\nend)\nsleep(0.05)\nprint('done')\n");
  EXPECT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out, "done\n");
  EXPECT_NE(r.err.find("warning: a spawned task failed and nothing waited for it: "
                       "error[script_error]: lost (at spell1.lua:3)"),
            std::string::npos)
      << r.err;
  // Observed failures (await under pcall, :catch, promise.all_settled) are not news.
  r = spell("local t = spawn(function() error('seen') end)\npcall(await, t)\n"
            "spawn(function() error('caught') end):catch(function() end)\n"
            "promise.all_settled({spawn(function() error('settled') end)})\nsleep(0.01)\n");
  EXPECT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
  // Tengo's spawn is the same registry function.
  r = spell("fmt := import(\"fmt\")\nspawn(func() { return error(\"lost\") })\nsleep(0.01)\nfmt.println(\"done\")\n",
            "", ".tengo");
  EXPECT_EQ(r.out, "done\n") << r.err;
}

TEST_F(ScriptApi, AgentOutputSchemaRepairsTheAnswerBeforeAnotherIteration) {
  // Single quotes, an unquoted key, a number in a string and a trailing comma: repaired and
  // coerced as llm.structured does, so the one scripted reply is enough.
  auto r = spell(R"(
llm.configure("mock", {replies = {{text = "Here: {'city': 'Paris', pop: '2100000',}"}}})
local a = agent.create{name = "o", model = "mock/script", output_schema = {type = "object",
  properties = {city = {type = "string"}, pop = {type = "integer"}}, required = {"city", "pop"}}}
local res = a:run("x")
print(res.status, res.output.city, res.output.pop, math.type(res.output.pop), res.iterations)
)");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out, "completed\tParis\t2100000\tinteger\t1\n");
}

// ---- smaller: --approve ask without a terminal, tool info's empty examples ----

TEST_F(ScriptApi, ApproveAskWithoutATerminalSaysWhy) {
  auto r = spell(R"(
tools.define{name = "danger", requires_approval = true, parameters = {type = "object"}, run = function() return "ran" end}
local ok, e = pcall(tools.call, "danger", {})
print(ok, e.code)
print(e.message)
)",
                 "--approve ask");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_NE(r.out.find("false\tpermission_denied\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--approve=ask cannot ask: standard input is not a terminal"), std::string::npos) << r.out;
}

TEST_F(ScriptApi, ToolInfoPrintsAnEmptyExamplesListAsAList) {
  auto r = runCli("tool info uuid");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_NE(r.out.find("\"examples\": []"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\"examples\": {}"), std::string::npos) << r.out;
}

// ---- item 8: schemas reach providers exactly, and are valid JSON Schemas ----

// Every JSON Schema in a provider request body: tool parameters and structured-output schemas,
// under whichever key the provider's wire format uses.
void collectSchemas(const json& j, std::vector<json>& out) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      bool schemaKey = k == "parameters" || k == "input_schema" || k == "parametersJsonSchema" ||
                       k == "responseJsonSchema" || k == "responseSchema" || k == "schema" ||
                       (k == "format" && v.is_object());
      if (schemaKey && v.is_object()) out.push_back(v);
      else collectSchemas(v, out);
    }
  } else if (j.is_array()) {
    for (const auto& v : j) collectSchemas(v, out);
  }
}

class SchemasSent : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    setenv("OPENAI_BASE_URL", fp.baseUrl("openai").c_str(), 1);
    setenv("ANTHROPIC_BASE_URL", fp.baseUrl("anthropic").c_str(), 1);
    setenv("GEMINI_BASE_URL", fp.baseUrl("gemini").c_str(), 1);
    setenv("OLLAMA_HOST", fp.baseUrl("ollama").c_str(), 1);
    setenv("OPENAI_API_KEY", "sk-test-openai-0123456789", 1);
    setenv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789", 1);
    setenv("GEMINI_API_KEY", "AIzaTestKey0123456789", 1);
    setenv("LLMSPELL_STATE_BACKEND", "memory", 1);
  }
  llmspell::fake::FakeProvider fp{11};
};

// Every tool schema llmspell sends (the built-in tools', script-defined ones with an empty
// `required = {}`, inline llm.chat tools, structured-output schemas) is checked against the JSON
// Schema meta-schema by Debian's python3-jsonschema (Draft 2020-12, or the draft a schema names).
TEST_P(SchemasSent, EveryToolSchemaIsAValidJsonSchema) {
  ASSERT_EQ(runShell("python3 -c 'import jsonschema' 2>/dev/null").exit, 0)
      << "python3-jsonschema is needed (scripts/setup.sh installs it)";
  fp.push(json{{"text", "agent done"}});
  fp.push(json{{"text", "chat done"}});
  fp.push(json{{"json", json::object()}});
  std::string model = GetParam();
  std::string dir = testing::TempDir();
  std::string spellPath = dir + "/schemas_" + std::to_string(getpid()) + ".lua";
  std::ofstream(spellPath) << R"(
tools.define{name = "no_args", description = "takes nothing",
  parameters = {type = "object", properties = {}, required = {}}, run = function() return "ok" end}
tools.define{name = "pick", description = "picks a colour",
  parameters = {type = "object", properties = {color = {type = "string", enum = {"red", "blue"}},
    tags = {type = "array", items = {type = "string"}}}, required = {"color"}},
  run = function(a) return a.color end}
local names = {}
for _, t in ipairs(tools.list()) do names[#names + 1] = t.name end
print(agent.create{tools = names}:run("go").text)
print(llm.chat("x", {tools = {{name = "inline", description = "d",
  parameters = {type = "object", properties = {}, required = {}}}}}).text)
print(json.encode(llm.chat("y", {
  schema = {type = "object", properties = {}, required = {}}}).text))
)";
  setenv("LLMSPELL_MODEL", model.c_str(), 1);
  auto r = runCli("run " + spellPath);
  ASSERT_EQ(r.exit, 0) << r.err << r.out;
  std::vector<json> schemas;
  for (const auto& req : fp.requests()) collectSchemas(req.json(), schemas);
  // The built-in tools, the two defined ones, the inline one and the structured-output schema.
  EXPECT_GT(schemas.size(), 5u);
  int emptyRequired = 0;
  for (const auto& s : schemas)
    if (s.contains("required") && s["required"] == json::array()) ++emptyRequired;
  EXPECT_GE(emptyRequired, 2) << json(schemas).dump();
  std::string file = dir + "/schemas_" + std::to_string(getpid()) + ".json";
  std::ofstream(file) << json(schemas).dump();
  auto v = runShell(
      "python3 -c " +
      shellQuote("import json, sys, jsonschema\n"
                 "bad = 0\n"
                 "for s in json.load(open(sys.argv[1])):\n"
                 "  cls = jsonschema.validators.validator_for(s, default=jsonschema.Draft202012Validator)\n"
                 "  for e in cls(cls.META_SCHEMA).iter_errors(s):\n"
                 "    bad += 1; print(json.dumps(s)[:200], '->', e.message)\n"
                 "print('checked', bad)\n") +
      " " + file + " 2>&1");
  EXPECT_EQ(v.exit, 0) << v.out;
  EXPECT_NE(v.out.find("checked 0"), std::string::npos) << v.out;
}

INSTANTIATE_TEST_SUITE_P(Providers, SchemasSent,
                         testing::Values("openai/gpt-4o-mini", "anthropic/claude-haiku-4-5",
                                         "gemini/gemini-2.5-flash", "ollama/llama3.2"),
                         [](const testing::TestParamInfo<std::string>& i) {
                           return i.param.substr(0, i.param.find('/'));
                         });

}  // namespace
