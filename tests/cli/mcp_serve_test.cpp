// `llmspell mcp serve`: a spell's tools served over stdio to the official MCP TypeScript SDK's
// client (npm @modelcontextprotocol/sdk; skipped without node or the package), with the grants
// of the spell's manifest; and the protocol's own errors from raw JSON-RPC lines.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../support/cli.hpp"

using namespace llmspell::test;

namespace {

const std::string kSource = LLMSPELL_SOURCE_DIR;

// A spell directory whose manifest grants reading ./data only, and whose tools add, wait, fail
// and read a file.
std::string makeSpell(const char* name) {
  std::string dir = testing::TempDir() + "/" + name + "_" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/data");
  std::ofstream(dir + "/data/note.txt") << "inside the grant";
  std::ofstream(dir + "/spell.yaml") << "name: tools\nentry: main.lua\npermissions:\n  read: [./data]\n";
  std::ofstream(dir + "/main.lua") << R"(
print("this goes to stderr")
tools.define{name = "add", description = "Adds two numbers",
  parameters = {type = "object", properties = {a = {type = "number"}, b = {type = "number"}}, required = {"a", "b"}},
  run = function(args) return {sum = args.a + args.b} end}
tools.define{name = "shout", description = "Upper-cases text after a pause",
  parameters = {type = "object", properties = {text = {type = "string"}}},
  run = function(args) sleep(0.05) return args.text:upper() end}
tools.define{name = "fail", description = "Always fails", run = function() error(errors.new("not_found", "nothing here")) end}
tools.define{name = "read", description = "Reads a file", parameters = {type = "object", properties = {path = {type = "string"}}},
  run = function(args) return fs.read(args.path) end}
tools.define{name = "count", description = "Counts to n, reporting progress",
  parameters = {type = "object", properties = {n = {type = "integer"}}},
  run = function(args, ctx)
    for i = 1, args.n do
      if ctx.progress then ctx.progress(i, args.n, "step " .. i) end
      sleep(0.01)
    end
    return args.n
  end}
)";
  return dir;
}

}  // namespace

TEST(McpServe, TheTypeScriptSdkClientListsAndCallsASpellsTools) {
  std::string modules = kSource + "/third_party_data/node_modules";
  if (runShell("command -v node >/dev/null 2>&1").exit != 0) GTEST_SKIP() << "node is not on PATH";
  if (!std::filesystem::exists(modules + "/@modelcontextprotocol/sdk/package.json"))
    GTEST_SKIP() << "npm @modelcontextprotocol/sdk is not installed in third_party_data (scripts/setup.sh installs it)";
  std::string dir = makeSpell("mcp_serve_sdk");
  CliResult r = runShell("cd " + shellQuote(dir) + " && timeout 60 node " +
                         shellQuote(kSource + "/tests/cli/mcp_serve/sdk_client.mjs") + " " + shellQuote(modules) + " " +
                         shellQuote(cliPath()) + " " + shellQuote(dir) + " 2>&1");
  EXPECT_EQ(r.exit, 0) << r.out;
  for (const char* want : {
           "server llmspell: tools tools\n",
           "tools add(a,b) shout(text) fail() read(path) count(n)\n",
           "progress 1/3 step 1, 2/3 step 2, 3/3 step 3 -> 3\n",
           "add false {\"sum\":5} {\"sum\":5}\n",
           "shout ONE TWO\n",
           "fail true error[not_found]: nothing here\n",
           "bad true error[validation_failed]\n",
           "unknown -32602\n",
           "stderr \"this goes to stderr\"\n",
       }) {
    EXPECT_NE(r.out.find(want), std::string::npos) << "missing: " << want << "in:\n" << r.out;
  }
  std::filesystem::remove_all(dir);
}

// The tools run with the manifest's grants: data/ is readable, anything else is refused without
// saying whether it exists. Raw JSON-RPC: a malformed line and an unknown method get JSON-RPC
// errors and the session goes on.
TEST(McpServe, ToolsRunWithTheSpellsGrantsAndBadLinesGetJsonRpcErrors) {
  std::string dir = makeSpell("mcp_serve_raw");
  std::string in = dir + "/in.jsonl";
  std::ofstream(in) << R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}
{"jsonrpc":"2.0","method":"notifications/initialized"}
not json
{"jsonrpc":"2.0","id":2,"method":"resources/list"}
{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"read","arguments":{"path":"data/note.txt"}}}
{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"read","arguments":{"path":"/etc/passwd"}}}
{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"read","arguments":{"path":"/nonexistent/x"}}}
{"jsonrpc":"2.0","id":6,"method":"ping"}
)";
  CliResult r = runShell("cd " + shellQuote(dir) + " && " + cliPath() + " mcp serve . < in.jsonl 2>/dev/null");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find(R"("id":1,"result":{"protocolVersion":"2025-03-26")"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"("id":2,"error":{"code":-32601)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"("id":3,"result":{"content":[{"type":"text","text":"inside the grant"}],"isError":false})"),
            std::string::npos)
      << r.out;
  // Denied the same way whether the file exists or not.
  auto denial = [&](int id) {
    auto at = r.out.find("\"id\":" + std::to_string(id) + ",");
    if (at == std::string::npos) return std::string();
    auto end = r.out.find('\n', at);
    std::string line = r.out.substr(at, end - at);
    auto msg = line.find("error[");
    return msg == std::string::npos ? line : line.substr(msg, line.find(':', msg) - msg);
  };
  EXPECT_EQ(denial(4), "error[permission_denied]") << r.out;
  EXPECT_EQ(denial(5), "error[permission_denied]") << r.out;
  EXPECT_NE(r.out.find(R"("id":6,"result":{})"), std::string::npos) << r.out;
  std::filesystem::remove_all(dir);
}
