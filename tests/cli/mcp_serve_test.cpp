// `llmspell mcp serve`: a spell's tools served over stdio to the official MCP TypeScript SDK's
// client (npm @modelcontextprotocol/sdk; skipped without node or the package), with the grants
// of the spell's manifest; and the protocol's own errors from raw JSON-RPC lines.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

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

namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Starts `llmspell mcp serve ARGS --http 0` in the background, its stdout and stderr (and at the
// end "exit N") in `log`, its pid in `pid`; returns the URL it says it serves, or "" when it
// did not say so.
std::string startHttpServer(const std::string& dir, const std::string& args, const std::string& log, pid_t& pid) {
  std::string pidFile = log + ".pid";
  std::filesystem::remove(pidFile);
  runShell("cd " + shellQuote(dir) + " && (" + shellQuote(cliPath()) + " mcp serve " + args + " --http 0 >" +
           shellQuote(log) + " 2>&1 & echo $! >" + shellQuote(pidFile) + "; wait $!; echo \"exit $?\" >>" +
           shellQuote(log) + ") >/dev/null 2>&1 &");
  pid = 0;
  // Waits for the server to say where it listens (readiness, not a timing assertion).
  for (int i = 0; i < 600; ++i) {
    std::string text = readFile(log);
    if (pid == 0 && !readFile(pidFile).empty()) pid = static_cast<pid_t>(std::stol(readFile(pidFile)));
    auto at = text.find(" on http://");
    if (pid != 0 && at != std::string::npos && text.find('\n', at) != std::string::npos)
      return text.substr(at + 4, text.find('\n', at) - at - 4);
    if (text.find("exit ") != std::string::npos) return "";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return "";
}

// SIGTERM to the server, then waits for its "exit N"; returns its log.
std::string stopHttpServer(pid_t pid, const std::string& log) {
  if (pid > 0) ::kill(pid, SIGTERM);
  for (int i = 0; i < 600; ++i) {
    std::string text = readFile(log);
    if (text.find("exit ") != std::string::npos) return text;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return readFile(log);
}

bool haveSdk(std::string& why) {
  std::string modules = kSource + "/third_party_data/node_modules";
  if (runShell("command -v node >/dev/null 2>&1").exit != 0) {
    why = "node is not on PATH";
    return false;
  }
  if (!std::filesystem::exists(modules + "/@modelcontextprotocol/sdk/package.json")) {
    why = "npm @modelcontextprotocol/sdk is not installed in third_party_data (scripts/setup.sh installs it)";
    return false;
  }
  return true;
}

}  // namespace

// The same server over Streamable HTTP, driven by the SDK's StreamableHTTPClientTransport: a
// session, tools listed and called, progress streamed as SSE, a client that aborts a long call
// and goes away without ending its session, then a second client; SIGTERM ends the server
// with status 0.
TEST(McpServe, StreamableHttpWithTheTypeScriptSdkClient) {
  std::string why;
  if (!haveSdk(why)) GTEST_SKIP() << why;
  std::string dir = makeSpell("mcp_serve_http");
  std::string log = dir + "/server.log";
  pid_t pid = 0;
  std::string url = startHttpServer(dir, ".", log, pid);
  ASSERT_FALSE(url.empty()) << readFile(log);
  EXPECT_EQ(url.rfind("http://127.0.0.1:", 0), 0u) << url;
  CliResult r = runShell("timeout 60 node " + shellQuote(kSource + "/tests/cli/mcp_serve/sdk_http_client.mjs") + " " +
                         shellQuote(kSource + "/third_party_data/node_modules") + " " + shellQuote(url) + " 2>&1");
  std::string serverLog = stopHttpServer(pid, log);
  EXPECT_EQ(r.exit, 0) << r.out;
  for (const char* want : {
           "session yes llmspell: tools\n",
           "tools add shout fail read count\n",
           "add false {\"sum\":5}\n",
           "progress 1/3 step 1, 2/3 step 2, 3/3 step 3 -> 3\n",
           "aborted McpError\n",
           "second session true\n",
           "second add {\"sum\":42}\n",
           "ended session refused\n",
       }) {
    EXPECT_NE(r.out.find(want), std::string::npos) << "missing: " << want << "in:\n" << r.out;
  }
  EXPECT_NE(serverLog.find("exit 0"), std::string::npos) << serverLog;
  std::filesystem::remove_all(dir);
}

// Raw HTTP: the Origin check, a request without a session, an unknown session, a batch.
TEST(McpServe, StreamableHttpRefusesForeignOriginsAndUnknownSessions) {
  if (runShell("command -v curl >/dev/null 2>&1").exit != 0) GTEST_SKIP() << "curl is not on PATH";
  std::string dir = makeSpell("mcp_serve_http_raw");
  std::string log = dir + "/server.log";
  pid_t pid = 0;
  std::string url = startHttpServer(dir, ".", log, pid);
  ASSERT_FALSE(url.empty()) << readFile(log);
  auto curl = [&](const std::string& args) {
    return runShell("curl -s -o /dev/null -w '%{http_code}' -H 'accept: application/json, text/event-stream' " + args +
                    " " + shellQuote(url)).out;
  };
  std::string init = R"('{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}')";
  std::string ping = R"('{"jsonrpc":"2.0","id":2,"method":"ping"}')";
  EXPECT_EQ(curl("-H 'origin: http://example.com' -d " + init), "403");
  EXPECT_EQ(curl("-H 'origin: http://localhost:8080' -d " + init), "200");
  EXPECT_EQ(curl("-d " + ping), "400");
  EXPECT_EQ(curl("-H 'mcp-session-id: nope' -d " + ping), "404");
  EXPECT_EQ(curl("-d '[" + init.substr(1, init.size() - 2) + "]'"), "400");
  EXPECT_EQ(curl("-X PUT"), "405");
  std::string serverLog = stopHttpServer(pid, log);
  EXPECT_NE(serverLog.find("exit 0"), std::string::npos) << serverLog;
  std::filesystem::remove_all(dir);
}

namespace {

// A directory of three spells: alpha (a directory whose manifest grants reading its ./data),
// beta.lua (no grants) and broken.lua (fails as it starts).
std::string makeSpellsDir(const char* name) {
  std::string dir = testing::TempDir() + "/" + name + "_" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/alpha/data");
  std::ofstream(dir + "/alpha/data/note.txt") << "inside alpha";
  std::ofstream(dir + "/alpha/spell.yaml") << "name: alpha\nentry: main.lua\npermissions:\n  read: [./data]\n";
  std::ofstream(dir + "/alpha/main.lua") << R"(
tools.define{name = "read", description = "Reads a file", parameters = {type = "object", properties = {path = {type = "string"}}},
  run = function(args) return fs.read(args.path) end}
)";
  std::ofstream(dir + "/beta.lua") << R"L(
tools.define{name = "add", description = "Adds", parameters = {type = "object", properties = {a = {type = "number"}, b = {type = "number"}}},
  run = function(args) return {sum = args.a + args.b} end}
tools.define{name = "count", description = "Counts to n, reporting progress", parameters = {type = "object", properties = {n = {type = "integer"}}},
  run = function(args, ctx)
    for i = 1, args.n do
      if ctx.progress then ctx.progress(i, args.n) end
      sleep(0.01)
    end
    return args.n
  end}
tools.define{name = "read", description = "Reads a file (no grant)", parameters = {type = "object", properties = {path = {type = "string"}}},
  run = function(args) return fs.read(args.path) end}
)L";
  std::ofstream(dir + "/broken.lua") << "error('broken on purpose')\n";
  return dir;
}

void expectSpellsServed(const std::string& out) {
  for (const char* want : {
           "tools alpha__read beta__add beta__count beta__read\n",
           "add false {\"sum\":5}\n",
           "progress 1/2, 2/2 -> 2\n",
           // Each spell's tools run under its own manifest: alpha reads its data, nothing else;
           // beta has no grant at all.
           "read alpha__read data/note.txt false inside alpha\n",
           "read alpha__read /etc/passwd true error[permission_denied]\n",
           "read beta__read alpha/data/note.txt true error[permission_denied]\n",
       }) {
    EXPECT_NE(out.find(want), std::string::npos) << "missing: " << want << "in:\n" << out;
  }
}

constexpr const char* kBrokenReport =
    "llmspell mcp: spell 'broken' is not served: error[provider_error]: spell 'broken' exited with status 1; "
    "its stderr ends with: error[script_error]: broken on purpose";

}  // namespace

// `mcp serve --spells DIR` over stdio: a child server per spell, their tools prefixed with the
// spell's name; the spell that fails to start is reported on stderr and the rest are served.
TEST(McpServe, SpellsDirOverStdio) {
  std::string why;
  if (!haveSdk(why)) GTEST_SKIP() << why;
  std::string dir = makeSpellsDir("mcp_serve_spells");
  CliResult r = runShell("timeout 60 node " + shellQuote(kSource + "/tests/cli/mcp_serve/sdk_spells_client.mjs") + " " +
                         shellQuote(kSource + "/third_party_data/node_modules") + " stdio " + shellQuote(cliPath()) +
                         " " + shellQuote(dir) + " 2>&1");
  EXPECT_EQ(r.exit, 0) << r.out;
  expectSpellsServed(r.out);
  EXPECT_NE(r.out.find(kBrokenReport), std::string::npos) << r.out;
  std::filesystem::remove_all(dir);
}

TEST(McpServe, SpellsDirOverStreamableHttp) {
  std::string why;
  if (!haveSdk(why)) GTEST_SKIP() << why;
  std::string dir = makeSpellsDir("mcp_serve_spells_http");
  std::string log = testing::TempDir() + "/mcp_serve_spells_http_" + std::to_string(getpid()) + ".log";
  pid_t pid = 0;
  std::string url = startHttpServer(dir, "--spells .", log, pid);
  ASSERT_FALSE(url.empty()) << readFile(log);
  CliResult r = runShell("timeout 60 node " + shellQuote(kSource + "/tests/cli/mcp_serve/sdk_spells_client.mjs") + " " +
                         shellQuote(kSource + "/third_party_data/node_modules") + " http " + shellQuote(url) + " 2>&1");
  std::string serverLog = stopHttpServer(pid, log);
  EXPECT_EQ(r.exit, 0) << r.out;
  expectSpellsServed(r.out);
  EXPECT_NE(serverLog.find(kBrokenReport), std::string::npos) << serverLog;
  EXPECT_NE(serverLog.find("exit 0"), std::string::npos) << serverLog;
  std::filesystem::remove_all(dir);
  std::filesystem::remove(log);
}

// No spell can be served: an error, not a server of nothing.
TEST(McpServe, SpellsDirWithNothingToServe) {
  std::string dir = testing::TempDir() + "/mcp_serve_none_" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  CliResult empty = runShell(shellQuote(cliPath()) + " mcp serve --spells " + shellQuote(dir) + " </dev/null 2>&1");
  EXPECT_EQ(empty.exit, 1) << empty.out;
  EXPECT_NE(empty.out.find("error[invalid_argument]: mcp serve --spells: no spells in"), std::string::npos) << empty.out;
  std::ofstream(dir + "/broken.lua") << "error('broken on purpose')\n";
  CliResult broken = runShell(shellQuote(cliPath()) + " mcp serve --spells " + shellQuote(dir) + " </dev/null 2>&1");
  EXPECT_EQ(broken.exit, 1) << broken.out;
  EXPECT_NE(broken.out.find(kBrokenReport), std::string::npos) << broken.out;
  EXPECT_NE(broken.out.find("error[config_error]: mcp serve --spells: no spell in"), std::string::npos) << broken.out;
  CliResult both = runShell(shellQuote(cliPath()) + " mcp serve x.lua --spells " + shellQuote(dir) + " </dev/null 2>&1");
  EXPECT_EQ(both.exit, 2) << both.out;
  std::filesystem::remove_all(dir);
}

// `mcp serve --http` with API keys: a request without a valid key is 401 before anything is
// looked up; a key sees and calls only the tools of the spells it may use (others answer as
// unknown tools); a session belongs to the key that started it.
TEST(McpServe, StreamableHttpWithApiKeys) {
  if (runShell("command -v curl >/dev/null 2>&1").exit != 0) GTEST_SKIP() << "curl is not on PATH";
  std::string dir = makeSpellsDir("mcp_serve_keys");
  std::string store = dir + "/keys.db";
  auto mk = [&](const char* spell) {
    CliResult r = runShell("LLMSPELL_KEYS=" + shellQuote(store) + " " + shellQuote(cliPath()) + " keys create --spell " +
                           spell + " 2>/dev/null");
    EXPECT_EQ(r.exit, 0) << r.out;
    return r.out.substr(0, r.out.find('\n'));
  };
  std::string betaKey = mk("beta"), alphaKey = mk("alpha");
  std::string log = dir + "/server.log";
  pid_t pid = 0;
  std::string url = startHttpServer(dir, "--spells . --keys " + shellQuote(store), log, pid);
  ASSERT_FALSE(url.empty()) << readFile(log);
  // -> "STATUS\n<headers and body>"
  auto post = [&](const std::string& key, const std::string& session, const std::string& body) {
    std::string h = "-H 'accept: application/json, text/event-stream' -H 'content-type: application/json'";
    if (!key.empty()) h += " -H " + shellQuote("authorization: Bearer " + key);
    if (!session.empty()) h += " -H " + shellQuote("mcp-session-id: " + session);
    return runShell("curl -s -i " + h + " -d " + shellQuote(body) + " " + shellQuote(url)).out;
  };
  auto status = [](const std::string& reply) { return reply.size() > 12 ? reply.substr(9, 3) : reply; };
  const std::string init = R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}})";
  EXPECT_EQ(status(post("", "", init)), "401");
  std::string wrong = post("lsk_0000000000000000_nope", "", init);
  EXPECT_EQ(status(wrong), "401") << wrong;
  EXPECT_NE(wrong.find("www-authenticate: Bearer"), std::string::npos) << wrong;
  std::string started = post(betaKey, "", init);
  ASSERT_EQ(status(started), "200") << started;
  size_t at = started.find("mcp-session-id: ");
  ASSERT_NE(at, std::string::npos) << started;
  std::string sid = started.substr(at + 16, started.find('\r', at) - at - 16);
  std::string list = post(betaKey, sid, R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})");
  EXPECT_NE(list.find("\"beta__add\""), std::string::npos) << list;
  EXPECT_EQ(list.find("alpha__"), std::string::npos) << list;
  std::string add = post(betaKey, sid, R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"beta__add","arguments":{"a":2,"b":3}}})");
  EXPECT_NE(add.find(R"(\"sum\":5)"), std::string::npos) << add;
  std::string other = post(betaKey, sid, R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"alpha__read","arguments":{"path":"data/note.txt"}}})");
  EXPECT_NE(other.find("unknown tool 'alpha__read'"), std::string::npos) << other;
  // The alpha key: its own tools, and not the beta key's session.
  EXPECT_EQ(status(post(alphaKey, sid, R"({"jsonrpc":"2.0","id":5,"method":"ping"})")), "404");
  EXPECT_EQ(status(post(betaKey, sid, R"({"jsonrpc":"2.0","id":6,"method":"ping"})")), "200");
  std::string serverLog = stopHttpServer(pid, log);
  EXPECT_NE(serverLog.find("API keys required (2 active)"), std::string::npos) << serverLog;
  EXPECT_NE(serverLog.find("exit 0"), std::string::npos) << serverLog;
  // Keys are for HTTP: over stdio they are refused, not ignored.
  CliResult stdio = runShell(shellQuote(cliPath()) + " mcp serve --spells " + shellQuote(dir) + " --require-keys </dev/null 2>&1");
  EXPECT_EQ(stdio.exit, 2) << stdio.out;
  EXPECT_NE(stdio.out.find("--keys and --require-keys apply to --http"), std::string::npos) << stdio.out;
  std::filesystem::remove_all(dir);
}
