// The MCP client (mcp.connect) through the real binary, over stdio and Streamable HTTP, against
// MCP servers nobody here wrote (@modelcontextprotocol/server-everything and server-filesystem
// from npm, installed by scripts/setup.sh) and a small fake server (tests/cli/mcp/fake_server.js) for pagination,
// list_changed, timeouts, cancellation, crashes and a server that ignores SIGTERM. Skipped with
// a message when node or the npm packages are missing.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <thread>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "../support/cli.hpp"

namespace {

namespace fs = std::filesystem;
using llmspell::test::CliResult;
using llmspell::test::runShell;
using llmspell::test::shellQuote;

const std::string kSource = LLMSPELL_SOURCE_DIR;
const std::string kBin = kSource + "/third_party_data/node_modules/.bin/";

std::string nodePath() {
  CliResult r = runShell("command -v node 2>/dev/null");
  while (!r.out.empty() && (r.out.back() == '\n' || r.out.back() == ' ')) r.out.pop_back();
  return r.exit == 0 ? r.out : "";
}

// Why the servers cannot run here, or "" when they can.
std::string missing(const std::string& server = "") {
  if (nodePath().empty()) return "node is not on PATH";
  if (!server.empty() && !fs::exists(kBin + server))
    return kBin + server + " is not installed: run scripts/setup.sh";
  return "";
}

// The child's PATH: only the directory of node (the npm bins start with #!/usr/bin/env node).
std::string childPath() { return fs::path(nodePath()).parent_path().string() + ":/usr/bin:/bin"; }

std::string scratch(const std::string& name) {
  std::string dir = testing::TempDir() + "/llmspell_mcp_" + name + "_" + std::to_string(getpid());
  fs::create_directories(dir);
  return dir;
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// Runs `src` as DIR/spell.EXT with `flags`; stderr merged into out.
CliResult spell(const std::string& dir, const std::string& src, const std::string& flags = "--allow-run",
                const std::string& ext = "lua") {
  write(dir + "/spell." + ext, src);
  return runShell("cd " + shellQuote(dir) + " && " + llmspell::test::cliPath() + " run " + flags +
                  " spell." + ext + " 2>&1");
}

// A Lua string literal.
std::string lit(const std::string& s) { return "[==[" + s + "]==]"; }

std::string everything() {
  return "mcp.connect{command = " + lit(kBin + "mcp-server-everything") + ", env = {PATH = " +
         lit(childPath()) + "}, prefix = \"ev\"";
}

std::string fake(const std::string& extra = "") {
  return "mcp.connect{command = " + lit(nodePath()) + ", args = {" +
         lit(kSource + "/tests/cli/mcp/fake_server.js") + extra + "}, prefix = \"fk\"";
}

TEST(Mcp, EverythingServerOverStdio) {
  if (auto why = missing("mcp-server-everything"); !why.empty()) GTEST_SKIP() << why;
  std::string dir = scratch("everything");
  CliResult r = spell(dir, "local progress = {}\n"
                           "local c = " + everything() + ", on_progress = function(p) progress[#progress + 1] = p.progress .. '/' .. p.total end}\n"
                           "local i = c:info()\n"
                           "print('server', i.server.name, i.protocol_version, i.capabilities.tools ~= nil)\n"
                           "local names = {}\n"
                           "for _, t in ipairs(c:tools()) do names[t.name] = true end\n"
                           "print('listed', names.echo, names['get-sum'])\n"
                           "print('echo', c:call('echo', {message = 'hi there'}).text)\n"
                           "print('sum', tools.call('ev.get-sum', {a = 2, b = 40}).text)\n"
                           "print('info', tools.info('ev.echo').parameters.required[1], tools.info('ev.echo').category)\n"
                           "local ok, e = pcall(tools.call, 'ev.get-sum', {a = 'x'})\n"
                           "print('invalid', e.code)\n"
                           "c:call('trigger-long-running-operation', {duration = 0.2, steps = 2})\n"
                           "print('progress', table.concat(progress, ' '))\n"
                           "local res = c:resources()\n"
                           "print('resources', #res > 0, c:read(res[1].uri)[1].uri == res[1].uri)\n"
                           "local ps = c:prompts()\n"
                           "print('prompts', #ps > 0, #c:get_prompt('simple-prompt').messages > 0)\n"
                           "print('env', c:call('get-env').text:gsub('%s', ''))\n"
                           "c:close()\n"
                           "print('closed', tools.info and pcall(tools.info, 'ev.echo'))\n");
  ASSERT_EQ(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find("server\tmcp-servers/everything\t2025-06-18\ttrue"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("listed\ttrue\ttrue"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("echo\tEcho: hi there"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("sum\tThe sum of 2 and 40 is 42."), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("info\tmessage\tmcp"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("invalid\tvalidation_failed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("progress\t1/2 2/2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("resources\ttrue\ttrue"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("prompts\ttrue\ttrue"), std::string::npos) << r.out;
  // The child's environment is what the spell passed, nothing of the runtime's.
  EXPECT_NE(r.out.find("env\t{\"PATH\":\"" + childPath() + "\"}"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("closed\tfalse"), std::string::npos) << r.out;
}

TEST(Mcp, FilesystemServerThroughToolsCallAndAnAgent) {
  if (auto why = missing("mcp-server-filesystem"); !why.empty()) GTEST_SKIP() << why;
  std::string dir = scratch("filesystem");
  fs::create_directories(dir + "/docs");
  write(dir + "/docs/note.txt", "the secret word is tangerine\n");
  std::string docs = fs::canonical(dir + "/docs").string();
  std::string connect = "local c = mcp.connect{command = " + lit(kBin + "mcp-server-filesystem") +
                        ", args = {" + lit(docs) + "}, env = {PATH = " + lit(childPath()) +
                        "}, prefix = \"fs\"}\n";
  CliResult r = spell(dir, connect +
                               "print('direct', tools.call('fs.read_text_file', {path = " + lit(docs + "/note.txt") + "}).text)\n"
                               "llm.configure('mock', {replies = {\n"
                               "  {tool_calls = {{name = 'fs__read_text_file', arguments = {path = " + lit(docs + "/note.txt") + "}}}},\n"
                               "  {text = 'It says tangerine.'},\n"
                               "}})\n"
                               "local a = agent.create{name = 'reader', model = 'mock/script', tools = {'fs.read_text_file'}}\n"
                               "local out = a:run('What does note.txt say?')\n"
                               "print('agent', out.status, out.tool_calls[1].name, out.tool_calls[1].result.text)\n"
                               "local ok, e = pcall(tools.call, 'fs.read_text_file', {path = '/etc/passwd'})\n"
                               "print('outside', e.code)\n");
  ASSERT_EQ(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find("direct\tthe secret word is tangerine"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("agent\tcompleted\tfs.read_text_file\tthe secret word is tangerine"), std::string::npos) << r.out;
  // The server refuses a path outside its directory with isError: provider_error.
  EXPECT_NE(r.out.find("outside\tprovider_error"), std::string::npos) << r.out;
}

TEST(Mcp, NeedsTheRunGrantAndDoesNotSayWhetherTheCommandExists) {
  std::string dir = scratch("denied");
  std::string probe = "local ok, e = pcall(mcp.connect, {command = %s})\nprint(e.code, e.message)\n";
  auto run = [&](const std::string& cmd) {
    std::string src = probe;
    src.replace(src.find("%s"), 2, lit(cmd));
    return spell(dir, src, "");
  };
  CliResult exists = run("/bin/sh"), absent = run("/no/such/server");
  EXPECT_NE(exists.out.find("permission_denied"), std::string::npos) << exists.out;
  EXPECT_NE(exists.out.find("--allow-run"), std::string::npos) << exists.out;
  EXPECT_EQ(exists.out, absent.out);
  // With the grant, a missing command is not_found.
  CliResult granted = spell(dir, "local ok, e = pcall(mcp.connect, {command = '/no/such/server'})\nprint(e.code)\n");
  EXPECT_NE(granted.out.find("not_found"), std::string::npos) << granted.out;
}

TEST(Mcp, PaginationListChangedErrorsAndCancellation) {
  if (auto why = missing(); !why.empty()) GTEST_SKIP() << why;
  std::string dir = scratch("fake");
  CliResult r = spell(dir, "local seen = {}\n"
                           "hooks.before('tool.call', function(ctx) seen[#seen + 1] = ctx.args.name end)\n"
                           "local c = " + fake() + ", timeout = 0.3, requires_approval = {'bump'}}\n"
                           "local names = {}\n"
                           "for _, t in ipairs(c:tools()) do names[#names + 1] = t.name end\n"
                           "print('pages', table.concat(names, ','))\n"
                           "print('registered', #c:info().tools, pcall(tools.info, 'fk.three'))\n"
                           "local ok, e = pcall(tools.call, 'fk.bump', {})\n"
                           "print('unapproved', e.code)\n"
                           "tools.set_approver(function(name) return name == 'fk.bump' end)\n"
                           "print('bump', tools.call('fk.bump', {}).text)\n"
                           "sleep(0.3)\n"
                           "print('relisted', tools.info('fk.three').name)\n"
                           "ok, e = pcall(tools.call, 'fk.two', {})\n"
                           "print('iserror', e.code, e.message)\n"
                           "print('hooked', table.concat(seen, ','))\n"
                           // the client's own timeout (connect's timeout = 0.3)
                           "ok, e = pcall(c.call, c, 'slow', {})\n"
                           "print('slow', e.code, e.message)\n"
                           // the spell's wait cancelled (a call's timeout cancels it)
                           "ok, e = pcall(c.call, c, 'slow', {}, {timeout = 0.2})\n"
                           "print('waited', e.code)\n"
                           "print('cancelled ids', c:call('cancelled').text)\n");
  ASSERT_EQ(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find("pages\tone,two,crash,slow,cancelled,bump"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("registered\t6\tfalse"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("relisted\tfk.three"), std::string::npos) << r.out;
  // Approval and hooks apply to a server's tools like to any tool.
  EXPECT_NE(r.out.find("unapproved\tpermission_denied"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hooked\tfk.bump,fk.two"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("iserror\tprovider_error\tmcp server 'fk' tool 'two': bad input"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("slow\ttimeout\tmcp server 'fk': tools/call got no answer within 0.3s"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("waited\ttimeout"), std::string::npos) << r.out;
  // Both the timed-out and the cancelled request were announced with notifications/cancelled.
  size_t at = r.out.find("cancelled ids\t[");
  ASSERT_NE(at, std::string::npos) << r.out;
  std::string ids = r.out.substr(at, r.out.find('\n', at) - at);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), ','), 1) << ids;
}

TEST(Mcp, AServerThatCrashesMidCallGivesAClearError) {
  if (auto why = missing(); !why.empty()) GTEST_SKIP() << why;
  std::string dir = scratch("crash");
  CliResult r = spell(dir, "local c = " + fake() + "}\n"
                           "local ok, e = pcall(c.call, c, 'crash', {})\n"
                           "print('crash', e.code, e.message)\n"
                           "ok, e = pcall(c.call, c, 'one', {})\n"
                           "print('after', e.code)\n");
  ASSERT_EQ(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find("crash\tprovider_error\tmcp server 'fk' exited with status 3; its stderr ends with: "
                       "fake server: deliberate crash"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("after\tprovider_error"), std::string::npos) << r.out;
}

bool alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

// The fake server ignores stdin EOF and (with --stubborn) SIGTERM; it is still gone when the
// spell ends, killed with its process group.
TEST(Mcp, TheServerIsGoneWhenTheSpellEnds) {
  if (auto why = missing(); !why.empty()) GTEST_SKIP() << why;
  std::string dir = scratch("teardown");
  for (std::string extra : {"", ", '--stubborn'", ", '--stubborn', 'then an error'"}) {
    bool fails = extra.find("error") != std::string::npos;
    CliResult r = spell(dir, "local c = " + fake(extra) + "}\nprint('pid', c:info().pid)\n" +
                                 (fails ? "error('the spell fails')\n" : ""));
    ASSERT_EQ(r.exit, fails ? 1 : 0) << r.out;
    size_t at = r.out.find("pid\t");
    ASSERT_NE(at, std::string::npos) << r.out;
    pid_t pid = static_cast<pid_t>(std::stol(r.out.substr(at + 4)));
    ASSERT_GT(pid, 1);
    EXPECT_FALSE(alive(pid)) << "server " << pid << " outlived the spell" << extra;
    if (alive(pid)) ::kill(pid, SIGKILL);
  }
}

TEST(Mcp, WorksFromTengoAndJavaScript) {
  if (auto why = missing(); !why.empty()) GTEST_SKIP() << why;
  std::string dir = scratch("engines");
  std::string args = "[\"" + kSource + "/tests/cli/mcp/fake_server.js\"]";
  CliResult t = spell(dir, "fmt := import(\"fmt\")\nmcp := import(\"mcp\")\ntools := import(\"tools\")\nc := mcp.connect({command: \"" + nodePath() + "\", args: " + args +
                               ", prefix: \"fk\"})\nfmt.println(tools.call(\"fk.one\", {x: 1}).text)\n",
                      "--allow-run", "tengo");
  EXPECT_EQ(t.exit, 0) << t.out;
  EXPECT_NE(t.out.find("one {\"x\":1}"), std::string::npos) << t.out;
  CliResult j = spell(dir, "const c = await mcp.connect({command: \"" + nodePath() + "\", args: " + args +
                               "});\nconsole.log((await c.call(\"one\", {x: 2})).text);\n",
                      "--allow-run", "js");
  EXPECT_EQ(j.exit, 0) << j.out;
  EXPECT_NE(j.out.find("one {\"x\":2}"), std::string::npos) << j.out;
}

// A port nobody listens on now (the kernel's choice for port 0).
int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// server-everything in its Streamable HTTP mode, started by the test and stopped after it.
TEST(Mcp, EverythingServerOverStreamableHttp) {
  if (auto why = missing("mcp-server-everything"); !why.empty()) GTEST_SKIP() << why;
  std::string dir = scratch("http");
  int port = freePort();
  std::string log = dir + "/server.log";
  CliResult started = runShell("cd " + shellQuote(dir) + " && PORT=" + std::to_string(port) + " PATH=" +
                               shellQuote(childPath()) + " " + shellQuote(kBin + "mcp-server-everything") +
                               " streamableHttp >" + shellQuote(log) + " 2>&1 & echo $!");
  pid_t pid = static_cast<pid_t>(std::stol(started.out));
  // Waits for the server to say it listens (readiness, not a timing assertion).
  for (int i = 0; i < 300; ++i) {
    std::ifstream in(log);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.find("listening on port") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/mcp";
  CliResult r = spell(dir, "local progress = 0\n"
                           "local c = mcp.connect{url = " + lit(url) + ", prefix = 'ev', on_progress = function() progress = progress + 1 end}\n"
                           "print('server', c:info().server.name, #c:info().tools > 0)\n"
                           "print('echo', c:call('echo', {message = 'over http'}).text)\n"
                           "print('sum', tools.call('ev.get-sum', {a = 1, b = 2}).text)\n"
                           "c:call('trigger-long-running-operation', {duration = 0.2, steps = 2})\n"
                           "print('progress', progress)\n"
                           "print('lists', #c:resources() > 0, #c:prompts() > 0)\n"
                           "local ok, e = pcall(c.call, c, 'trigger-long-running-operation', {duration = 10, steps = 2}, {timeout = 0.2})\n"
                           "print('cancelled', e.code)\n"
                           "c:close()\n",
                      "--allow-net=127.0.0.1");
  CliResult denied = spell(dir, "local ok, e = pcall(mcp.connect, {url = " + lit(url) + "})\nprint('denied', e.code)\n", "");
  ::kill(pid, SIGTERM);
  ASSERT_EQ(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find("server\tmcp-servers/everything\ttrue"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("echo\tEcho: over http"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("sum\tThe sum of 1 and 2 is 3."), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("progress\t2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("lists\ttrue\ttrue"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cancelled\ttimeout"), std::string::npos) << r.out;
  EXPECT_NE(denied.out.find("denied\tpermission_denied"), std::string::npos) << denied.out;
}

// llmspell's own MCP server (`llmspell mcp serve`) as the server: both ends of the protocol in
// this repository, so no node is needed.
TEST(Mcp, TalksToLlmspellMcpServe) {
  std::string dir = scratch("serve");
  write(dir + "/served.lua",
        "tools.define{name = 'shout', description = 'upper-cases', parameters = {type = 'object', "
        "properties = {text = {type = 'string'}}, required = {'text'}}, "
        "run = function(args) return args.text:upper() end}\n");
  CliResult r = spell(dir, "local c = mcp.connect{command = " + lit(llmspell::test::cliPath()) +
                               ", args = {'mcp', 'serve', " + lit(dir + "/served.lua") + "}, prefix = 'me'}\n"
                               "print('server', c:info().protocol_version, table.concat(c:info().tools, ','))\n"
                               "print('call', json.encode(tools.call('me.shout', {text = 'hi'}).content[1]))\n");
  ASSERT_EQ(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find("server\t2025-06-18\tme.shout"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("HI"), std::string::npos) << r.out;
}

}  // namespace

namespace {

// The GET stream of Streamable HTTP: a notification the server sends outside any request
// reaches the spell's on_notification. Against server-everything: its simulated logging sends
// a log message to the session's GET stream as the tool that starts it returns.
TEST(Mcp, NotificationsOnTheGetStreamReachTheSpell) {
  if (auto why = missing("mcp-server-everything"); !why.empty()) GTEST_SKIP() << why;
  std::string dir = scratch("get_stream");
  int port = freePort();
  std::string log = dir + "/server.log";
  CliResult started = runShell("cd " + shellQuote(dir) + " && PORT=" + std::to_string(port) + " PATH=" +
                               shellQuote(childPath()) + " " + shellQuote(kBin + "mcp-server-everything") +
                               " streamableHttp >" + shellQuote(log) + " 2>&1 & echo $!");
  pid_t pid = static_cast<pid_t>(std::stol(started.out));
  for (int i = 0; i < 300; ++i) {
    std::ifstream in(log);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.find("listening on port") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/mcp";
  // Waits for the message as long as it takes (the test's timeout bounds it).
  CliResult r = spell(dir, "local got = {}\n"
                           "local c = mcp.connect{url = " + lit(url) + ", on_notification = function(n) got[#got + 1] = n end}\n"
                           "c:call('toggle-simulated-logging', {})\n"
                           "while #got == 0 do sleep(0.02) end\n"
                           "print('notification', got[1].method, type(got[1].params.level), got[1].params.data:match('message') ~= nil)\n"
                           "c:close()\n",
                      "--allow-net=127.0.0.1");
  ::kill(pid, SIGTERM);
  ASSERT_EQ(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find("notification\tnotifications/message\tstring\ttrue"), std::string::npos) << r.out;
}

// The GET stream ends: the client opens it again after the server's retry:, with the
// Last-Event-ID it saw, and the session goes on.
TEST(Mcp, TheGetStreamReconnectsWithLastEventId) {
  if (auto why = missing(); !why.empty()) GTEST_SKIP() << why;
  std::string dir = scratch("get_resume");
  std::string log = dir + "/server.log";
  CliResult started = runShell("cd " + shellQuote(dir) + " && " + shellQuote(nodePath()) + " " +
                               shellQuote(kSource + "/tests/cli/mcp/fake_http_server.js") + " >" + shellQuote(log) +
                               " 2>&1 & echo $!");
  pid_t pid = static_cast<pid_t>(std::stol(started.out));
  int port = 0;
  for (int i = 0; i < 300 && port == 0; ++i) {
    std::ifstream in(log);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (auto at = text.find("listening on port "); at != std::string::npos && text.find('\n', at) != std::string::npos)
      port = std::stoi(text.substr(at + 18));
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_NE(port, 0);
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/mcp";
  CliResult r = spell(dir, "local got = {}\n"
                           "local c = mcp.connect{url = " + lit(url) + ", on_notification = function(n) got[#got + 1] = n.params.data end}\n"
                           "while #got < 2 do sleep(0.02) end\n"
                           "print(got[1]) print(got[2])\n"
                           "c:close()\n",
                      "--allow-net=127.0.0.1");
  ::kill(pid, SIGTERM);
  ASSERT_EQ(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find("first stream, session session-1\nstream 2, last-event-id e1\n"), std::string::npos) << r.out;
}

}  // namespace
