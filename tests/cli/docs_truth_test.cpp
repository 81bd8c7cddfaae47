// The docs describe what exists: every function docs/api.md names outside its "Planned" section
// is in the registry (and nothing in "Planned" is, so a built feature moves out of it), every
// `llmspell X` command it names is a subcommand, and docs/llm.md's provider table matches the
// providers the binary knows. The registry and the command list come from the real binary.
#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/cli.hpp"

namespace {

using llmspell::test::runCli;

std::string readDoc(const std::string& name) {
  std::ifstream f(std::string(LLMSPELL_SOURCE_DIR) + "/docs/" + name);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// "ns.fn" for every registered function, "fn" for the globals; and the namespaces.
struct Registry {
  std::set<std::string> functions, namespaces;
};

Registry registry() {
  auto r = runCli("docs --format json");
  EXPECT_EQ(r.exit, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  Registry out;
  for (const auto& g : j["globals"]) out.functions.insert(g["name"].get<std::string>());
  for (const auto& ns : j["namespaces"]) {
    std::string n = ns["name"];
    out.namespaces.insert(n);
    for (const auto& f : ns["functions"]) out.functions.insert(n + "." + f["name"].get<std::string>());
  }
  return out;
}

// Namespaces the plan has that the registry does not yet: a name in one of them outside
// "Planned" is a claim about something that does not exist.
const std::set<std::string> kPlannedNamespaces = {"data", "metrics", "trace", "guard", "auth", "test", "mcp"};

// Dotted names on the page that are not functions: the runtime's event names, hook points and
// the manifest's file name.
const std::set<std::string> kNotFunctions = {
    "llm.request",    "llm.token",     "llm.response",  "llm.error",      "tool.call",       "tool.result",
    "agent.start",    "agent.step",    "agent.finish",   "agent.run",       "workflow.start",
    "workflow.step",  "workflow.finish", "state.change", "spell.start",     "spell.finish",
    "llm.call",       "spell.yaml"};

// The `code spans` of a Markdown text, outside fenced blocks; a span may wrap onto the next line.
std::vector<std::string> codeSpans(const std::string& md) {
  std::string prose;
  bool fenced = false;
  std::stringstream lines(md);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("```", 0) == 0) {
      fenced = !fenced;
      continue;
    }
    if (!fenced) prose += line + "\n";
  }
  std::vector<std::string> spans;
  static const std::regex span("`([^`]+)`");
  for (auto it = std::sregex_iterator(prose.begin(), prose.end(), span); it != std::sregex_iterator(); ++it) {
    std::string text = (*it)[1];
    std::replace(text.begin(), text.end(), '\n', ' ');
    spans.push_back(text);
  }
  return spans;
}

// The functions a span names: `fs.read|write` is fs.read and fs.write; `crypto.hex_encode|decode`
// is crypto.hex_encode and crypto.hex_decode.
std::vector<std::string> namedFunctions(const std::string& spanText, const std::set<std::string>& namespaces) {
  std::vector<std::string> out;
  static const std::regex dotted(R"((^|[^A-Za-z0-9_:.])([a-z_]+)\.([a-z_][a-z0-9_]*(\|[a-z0-9_]+)*))");
  for (auto it = std::sregex_iterator(spanText.begin(), spanText.end(), dotted); it != std::sregex_iterator(); ++it) {
    std::string ns = (*it)[2], names = (*it)[3];
    if (!namespaces.count(ns) && !kPlannedNamespaces.count(ns)) continue;
    std::string first;
    std::stringstream parts(names);
    for (std::string part; std::getline(parts, part, '|');) {
      if (first.empty()) {
        first = part;
        out.push_back(ns + "." + part);
      } else {
        auto us = first.rfind('_');
        bool suffix = us != std::string::npos && part.find('_') == std::string::npos &&
                      !namespaces.count(ns + "." + part);
        out.push_back(ns + "." + (suffix ? first.substr(0, us + 1) + part : part));
      }
    }
  }
  return out;
}

std::pair<std::string, std::string> splitAtPlanned(const std::string& md) {
  auto at = md.find("\n## Planned\n");
  if (at == std::string::npos) return {md, ""};
  return {md.substr(0, at), md.substr(at)};
}

TEST(DocsTruth, ApiPageNamesOnlyRegisteredFunctions) {
  std::string md = readDoc("api.md");
  ASSERT_FALSE(md.empty());
  Registry reg = registry();
  auto [built, planned] = splitAtPlanned(md);
  ASSERT_FALSE(planned.empty()) << "docs/api.md lost its '## Planned' section";
  std::set<std::string> checked;
  for (const auto& span : codeSpans(built)) {
    for (const auto& fn : namedFunctions(span, reg.namespaces)) {
      if (kNotFunctions.count(fn)) continue;
      checked.insert(fn);
      EXPECT_TRUE(reg.functions.count(fn))
          << "docs/api.md names `" << fn << "` (in `" << span
          << "`), which the registry lacks: build it, or move it to the Planned section";
    }
  }
  // The check saw the page: most of the registry is named on it.
  EXPECT_GT(checked.size(), 100u);
}

TEST(DocsTruth, PlannedSectionHoldsOnlyWhatIsNotBuilt) {
  Registry reg = registry();
  auto planned = splitAtPlanned(readDoc("api.md")).second;
  int seen = 0;
  for (const auto& span : codeSpans(planned)) {
    for (const auto& fn : namedFunctions(span, reg.namespaces)) {
      ++seen;
      EXPECT_FALSE(reg.functions.count(fn)) << "`" << fn << "` exists now: move it out of Planned";
    }
  }
  EXPECT_GT(seen, 5);  // the parser sees the section (it shrinks as things are built)
}

TEST(DocsTruth, CommandsNamedOnThePagesExist) {
  auto help = runCli("--help");
  ASSERT_EQ(help.exit, 0);
  std::set<std::string> commands;
  auto at = help.out.find("Subcommands:");
  ASSERT_NE(at, std::string::npos) << help.out;
  std::stringstream lines(help.out.substr(at));
  static const std::regex row(R"(^  ([a-z]+)\s)");
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, row)) commands.insert(m[1]);
  }
  ASSERT_GT(commands.size(), 5u) << help.out;
  static const std::regex invocation(R"(^llmspell ([a-z]+))");
  for (const char* page : {"api.md", "llm.md", "agents.md", "tools.md", "workflows.md", "lua.md",
                           "security.md", "tengo.md"}) {
    auto built = splitAtPlanned(readDoc(page)).first;
    for (const auto& span : codeSpans(built)) {
      std::smatch m;
      if (!std::regex_search(span, m, invocation)) continue;
      EXPECT_TRUE(commands.count(m[1])) << "docs/" << page << " names `" << span
                                        << "`, but there is no such command";
    }
  }
}

TEST(DocsTruth, ProviderTableMatchesTheBinary) {
  auto r = runCli(
      "exec --model mock/echo "
      "'for _, p in ipairs(llm.providers({probe = false})) do print(json.encode(p)) end'");
  ASSERT_EQ(r.exit, 0) << r.err;
  std::string md = readDoc("llm.md");
  std::stringstream rows(r.out);
  int n = 0;
  for (std::string line; std::getline(rows, line);) {
    auto p = nlohmann::json::parse(line);
    std::string name = p["name"];
    auto at = md.find("| `" + name + "` |");
    ASSERT_NE(at, std::string::npos) << "docs/llm.md's provider table lacks " << name;
    std::string row = md.substr(at, md.find('\n', at) - at);
    for (const char* field : {"key_env", "base_url_env", "base_url"}) {
      std::string v = p.value(field, "");
      if (v.empty()) continue;
      EXPECT_NE(row.find("`" + v + "`"), std::string::npos) << name << ": " << field << " " << v << " not in: " << row;
    }
    ++n;
  }
  EXPECT_GE(n, 14);
}

}  // namespace
