// fake_provider: the fake LLM provider server as a program. Prints its port on stdout when
// ready, serves until stdin closes or SIGTERM/SIGINT.
//   fake_provider [--script replies.json] [--seed N] [--whole-events] [--chunk-delay SECONDS]
// The script is a JSON array of replies (or JSON Lines, one reply per line); more can be queued
// with POST /_control/replies.
#include <csignal>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "fake_provider.hpp"

namespace {
volatile std::sig_atomic_t gStop = 0;
void onSignal(int) { gStop = 1; }
}  // namespace

int main(int argc, char** argv) {
  std::string script;
  uint64_t seed = 1;
  bool whole = false;
  double chunkDelay = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--script" && i + 1 < argc) script = argv[++i];
    else if (a == "--seed" && i + 1 < argc) seed = std::stoull(argv[++i]);
    else if (a == "--whole-events") whole = true;
    else if (a == "--chunk-delay" && i + 1 < argc) chunkDelay = std::stod(argv[++i]);
    else {
      std::cerr << "usage: fake_provider [--script FILE] [--seed N] [--whole-events] [--chunk-delay SECONDS]\n";
      return 2;
    }
  }
  llmspell::fake::FakeProvider fp(seed);
  fp.setWholeEvents(whole);
  fp.setChunkDelay(chunkDelay);
  if (!script.empty()) {
    std::ifstream in(script);
    if (!in) {
      std::cerr << "fake_provider: cannot read " << script << "\n";
      return 2;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    auto j = nlohmann::json::parse(ss.str(), nullptr, false);
    if (!j.is_discarded()) {
      fp.push(j);
    } else {
      std::istringstream lines(ss.str());
      std::string line;
      while (std::getline(lines, line)) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        auto r = nlohmann::json::parse(line, nullptr, false);
        if (r.is_discarded()) {
          std::cerr << "fake_provider: bad JSON line in " << script << "\n";
          return 2;
        }
        fp.push(r);
      }
    }
  }
  std::signal(SIGTERM, onSignal);
  std::signal(SIGINT, onSignal);
  std::cout << fp.port() << std::endl;
  // Watch stdin on a thread: EOF means the parent is gone.
  std::thread([] {
    std::string s;
    while (std::getline(std::cin, s)) {
    }
    gStop = 1;
  }).detach();
  while (!gStop) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return 0;
}
