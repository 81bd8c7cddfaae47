// Workers as child processes, the fake provider's request log and the queue's tables, for the
// queue tests.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "fake_provider.hpp"
#include "support/cli.hpp"
#include "support/servers.hpp"

namespace llmspell::test {

const std::string kQueueSpells = std::string(LLMSPELL_SOURCE_DIR) + "/tests/durable/spells/";

// `llmspell worker --queue URL --id ID --lease L` with its output in `log`.
inline pid_t startWorker(const std::string& url, const std::string& id, double lease, const std::string& log,
                         const std::vector<std::string>& extra = {}) {
  pid_t pid = fork();
  if (pid == 0) {
    FILE* f = std::fopen(log.c_str(), "a");
    if (f) {
      dup2(fileno(f), 1);
      dup2(fileno(f), 2);
    }
    std::vector<std::string> args = {cliPath(), "worker", "--queue", url, "--id", id, "--lease", std::to_string(lease)};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

inline void stopWorker(pid_t pid, int sig = SIGTERM) {
  if (pid <= 0) return;
  kill(pid, sig);
  int st;
  waitpid(pid, &st, 0);
}

// Polls `cond` every 50 ms for up to `seconds`.
template <typename F>
bool eventually(F cond, double seconds) {
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return cond();
}

inline void providerEnv(const fake::FakeProvider& fp, const std::string& home) {
  std::filesystem::create_directories(home);
  setenv("LLMSPELL_HOME", home.c_str(), 1);
  setenv("OPENAI_BASE_URL", fp.baseUrl("openai").c_str(), 1);
  setenv("OPENAI_API_KEY", "sk-test-openai-0123456789", 1);
  setenv("LLMSPELL_MODEL", "openai/gpt-4o-mini", 1);
  unsetenv("LLMSPELL_QUEUE");
  unsetenv("LLMSPELL_STATE");
}

// How many times the provider was asked each user message.
inline std::map<std::string, int> promptCounts(const fake::FakeProvider& fp) {
  std::map<std::string, int> out;
  for (const auto& r : fp.requests()) {
    auto j = r.json();
    if (j.contains("messages")) ++out[j["messages"].back()["content"].get<std::string>()];
  }
  return out;
}

inline std::string expectedChain(int n) {
  std::string s = std::to_string(n);
  return "c " + s + " <- b " + s + " <- a " + s + " <- x";
}

}  // namespace llmspell::test
