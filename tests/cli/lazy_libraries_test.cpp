// Start-up loads only what a spell uses (issue #13): libnode (through the JavaScript engine
// module), libcurl and its dependencies, libcrypto, libsqlite3, libpq and hiredis are loaded the first time a
// spell needs them, checked with the dynamic loader's own trace (LD_DEBUG=files).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "support/cli.hpp"

namespace {

using llmspell::test::cliPath;
using llmspell::test::runShell;
using llmspell::test::shellQuote;

// The libraries loaded while `llmspell ARGS` runs (the loader's trace), and its output.
struct Loaded {
  int exit;
  std::string trace;
  bool has(const std::string& lib) const { return trace.find(lib) != std::string::npos; }
};

Loaded run(const std::string& args, const std::string& env = "") {
  std::string home = std::filesystem::temp_directory_path() / ("llmspell_lazy_" + std::to_string(getpid()));
  auto r = runShell(env + " LLMSPELL_HOME=" + shellQuote(home) + " LD_DEBUG=files " + cliPath() + " " + args + " 2>&1");
  std::filesystem::remove_all(home);
  return {r.exit, r.out};
}

TEST(LazyLibraries, APlainSpellLoadsNoneOfThem) {
  auto r = run("exec 'return 1'");
  EXPECT_EQ(r.exit, 0) << r.trace;
  for (const char* lib : {"libnode", "libllmspell_js", "libcurl", "libssl", "libcrypto", "libsqlite3", "libpq", "libhiredis"})
    EXPECT_FALSE(r.has(lib)) << "a spell that uses nothing loaded " << lib;
}

TEST(LazyLibraries, EachIsLoadedWhenASpellUsesIt) {
  auto js = run("exec --engine js 'return 1'");
  EXPECT_EQ(js.exit, 0) << js.trace;
  EXPECT_TRUE(js.has("libnode"));
  EXPECT_FALSE(js.has("libcurl"));

  auto digest = run("exec 'return crypto.hash(\"abc\", \"sha256\")'");
  EXPECT_EQ(digest.exit, 0) << digest.trace;
  EXPECT_TRUE(digest.has("libcrypto"));
  EXPECT_TRUE(digest.has("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));

  auto state = run("exec 'state.set(\"k\", 41); return state.get(\"k\") + 1'");
  EXPECT_EQ(state.exit, 0) << state.trace;
  EXPECT_TRUE(state.has("libsqlite3"));
  EXPECT_TRUE(state.has("\n42\n"));
  EXPECT_FALSE(state.has("libpq"));
  EXPECT_FALSE(state.has("libhiredis"));

  // State on a server loads its client library (even when the server is not there).
  for (auto [url, lib] : {std::pair{"redis://127.0.0.1:1", "libhiredis"},
                          std::pair{"postgresql://x@/db?host=/nonexistent-llmspell", "libpq"}}) {
    auto server = run("exec 'return pcall(state.get, \"k\")'", std::string("LLMSPELL_STATE_TIMEOUT_MS=0 LLMSPELL_STATE=") + url);
    EXPECT_TRUE(server.has(lib)) << url;
  }

  // An HTTP request that the grants refuse before any connection still parses the URL with curl.
  auto http = run("exec 'local ok, e = pcall(http.get, \"http://127.0.0.1:9/\") return e.code'");
  EXPECT_TRUE(http.has("libcurl")) << http.trace.substr(0, 2000);

  // serve loads libssl only when it is given a certificate (here one it cannot read).
  auto plain = run("serve --spells /nonexistent-llmspell --listen 127.0.0.1:0");
  EXPECT_NE(plain.exit, 0);
  EXPECT_FALSE(plain.has("libssl")) << plain.trace.substr(0, 2000);
  auto tls = run("serve --tls-cert /nonexistent-llmspell/c.pem --tls-key /nonexistent-llmspell/k.pem --listen 127.0.0.1:0");
  EXPECT_NE(tls.exit, 0);
  EXPECT_TRUE(tls.has("libssl.so.3")) << tls.trace.substr(0, 2000);
  EXPECT_TRUE(tls.has("cannot load the TLS certificate")) << tls.trace.substr(tls.trace.size() > 2000 ? tls.trace.size() - 2000 : 0);
}

}  // namespace
