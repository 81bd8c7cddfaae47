// The worker process of `llmspell serve`: one run at a time, each through runSpell exactly as
// `llmspell run` does, with the run's events, outputs and result sent to the parent as frames.
// A limit the engine cannot enforce in-process (a built-in call that never returns) ends this
// process; the parent sees the frame sent first, or the exit, and starts another worker.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <mutex>

#include <nlohmann/json.hpp>

#include "llmspell/core/convert.hpp"
#include "llmspell/events/bus.hpp"
#include "llmspell/llm/call_log.hpp"
#include "llmspell/runtime/loop.hpp"
#include "llmspell/serve/serve.hpp"
#include "llmspell/spell/spell.hpp"
#include "serve/frame.hpp"

namespace llmspell::serve {

namespace fs = std::filesystem;
using json = nlohmann::json;

bool readFrame(int fd, std::string& out) {
  unsigned char head[4];
  auto readN = [fd](void* p, size_t n) {
    auto* b = static_cast<char*>(p);
    while (n > 0) {
      ssize_t r = ::read(fd, b, n);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      b += r;
      n -= static_cast<size_t>(r);
    }
    return true;
  };
  if (!readN(head, 4)) return false;
  uint32_t n = frameLength(head);
  if (n > kMaxFrameBytes) return false;
  out.resize(n);
  return readN(out.data(), n);
}

bool writeAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t w = ::write(fd, bytes.data(), bytes.size());
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(w));
  }
  return true;
}

namespace {

std::mutex sendMu;  // the run's thread and the hard-stop watchdog both send; guards all below
int parentFd = -1;

// Frames go out in batches: what a run sends while its loop has work queued is written in one
// write when that work is done (a flush posted behind it), before the loop waits for anything;
// `done` writes whatever is pending with it. A write per frame (and the parent's wakeup for each)
// was a tenth of a short run's system calls.
constexpr size_t kPendingMax = 64u << 10;  // written at once past this (a spell emitting in a loop)
std::string pending;
Loop* runLoop = nullptr;  // the current run's loop, while its RunContext lives (RunFrames)
bool flushPosted = false;

void writePending() {
  if (pending.empty()) return;
  writeAll(parentFd, pending);
  pending.clear();
}

void sendText(const std::string& text, bool batch = true) {
  if (text.size() > kMaxFrameBytes) return;
  std::lock_guard<std::mutex> lock(sendMu);
  pending += frame(text);
  if (!batch || !runLoop || !runLoop->inLoopThread() || pending.size() > kPendingMax) return writePending();
  if (flushPosted) return;
  flushPosted = true;
  asio::post(runLoop->io(), [] {
    std::lock_guard<std::mutex> l(sendMu);
    flushPosted = false;
    writePending();
  });
}

void send(const json& j, bool batch = true) {
  sendText(j.dump(-1, ' ', false, json::error_handler_t::replace), batch);
}

// An event's frame written straight from its Value, as toJson + dump would write it (building
// an nlohmann tree per event was a tenth of an echo run); a value JSON cannot hold (a function,
// a handle) is sent as its description, as before.
void sendEvent(const std::string& id, const std::string& name, const Value& data) {
  std::string text = R"({"data":)";
  try {
    text += toJsonText(data);
  } catch (const std::exception&) {
    text += toJsonText(Value(data.describe()));
  }
  text += R"(,"id":)" + toJsonText(Value(id)) + R"(,"name":)" + toJsonText(Value(name)) + R"(,"op":"event"})";
  sendText(text);
}

// A service of the run's context: its loop takes flushes while the context lives.
struct RunFrames {
  explicit RunFrames(Loop& loop) {
    std::lock_guard<std::mutex> lock(sendMu);
    runLoop = &loop;
    flushPosted = false;
  }
  ~RunFrames() {  // what is pending goes with `done`, sent when runSpell returns
    std::lock_guard<std::mutex> lock(sendMu);
    runLoop = nullptr;
    flushPosted = false;
  }
  RunFrames(const RunFrames&) = delete;
  RunFrames& operator=(const RunFrames&) = delete;
};

json errorJson(const Error& e) { return {{"code", e.code}, {"message", e.message}}; }

// The run's call log rows: the parent writes them (CallLog::forwardTo), before it reports the run
// finished. Appended on the run's thread, taken by `done` (or the hard-stop watchdog's).
std::mutex callsMu;
json calls = json::array();

void forwardCall(const std::string& path, const llm::CallLog::Row& r) {
  json row = {{"log", path},         {"ts", r.ts},         {"run_id", r.runId},
              {"spell", r.spell},    {"model", r.model},   {"provider", r.provider},
              {"latency_ms", r.latencyMs}, {"finish_reason", r.finishReason}, {"error_code", r.errorCode}};
  if (r.inputTokens) row["input_tokens"] = *r.inputTokens;
  if (r.outputTokens) row["output_tokens"] = *r.outputTokens;
  if (r.costUsd) row["cost_usd"] = *r.costUsd;
  std::lock_guard<std::mutex> lock(callsMu);
  calls.push_back(std::move(row));
}

json takeCalls() {
  std::lock_guard<std::mutex> lock(callsMu);
  json out = json::array();
  out.swap(calls);
  return out;
}

std::string absoluteIn(const std::string& dir, const std::string& p) {
  fs::path path(p);
  return path.is_absolute() ? p : (fs::path(dir) / path).lexically_normal().string();
}

}  // namespace

int runServeWorker(int fd) {
  parentFd = fd;
  // A spell's print() has no reader here: runs report through spell.output and events.
  int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (devnull >= 0) {
    ::dup2(devnull, 1);
    ::close(devnull);
  }
  std::string current;  // the run in progress (events outside a run are not forwarded)
  EventBus::global().subscribe("**", [&current](const Event& e) {
    if (!current.empty()) sendEvent(current, e.name, e.data);
  });
  // Call log rows go to the parent with each run's `done`; the parent is their one writer.
  llm::CallLog::forwardTo(forwardCall);
  send({{"op", "ready"}, {"pid", ::getpid()}}, false);
  std::string text;
  while (readFrame(fd, text)) {
    json m = json::parse(text, nullptr, false);
    if (m.is_discarded() || m.value("op", "") != "run") continue;
    std::string id = m.value("id", "");
    RunOptions opts;
    opts.spellPath = m.value("spell", "");
    opts.outputFormat = "json";
    opts.dataDir = m.value("data_dir", "");
    for (auto& [k, v] : m["params"].items()) opts.params.emplace_back(k, v.get<std::string>());
    if (m.contains("typed_params")) opts.typedParams = fromJson(m["typed_params"]);
    if (m.contains("timeout_s")) opts.timeoutSeconds = m["timeout_s"].get<double>();
    if (m.contains("memory_mb")) opts.memoryMb = m["memory_mb"].get<size_t>();
    if (m.contains("instructions")) opts.instructions = m["instructions"].get<uint64_t>();
    if (m.contains("config")) opts.extraConfig = fromJson(m["config"]);
    opts.traceparent = m.value("traceparent", "");
    if (m.contains("grants")) {
      const json& g = m["grants"];
      std::string dir = m.value("dir", "");
      opts.manifestGrants = false;
      for (auto& h : g.value("net", json::array())) opts.allowNet.push_back(h.get<std::string>());
      for (auto& p : g.value("read", json::array())) opts.allowRead.push_back(absoluteIn(dir, p.get<std::string>()));
      for (auto& p : g.value("write", json::array())) opts.allowWrite.push_back(absoluteIn(dir, p.get<std::string>()));
      for (auto& n : g.value("env", json::array())) opts.allowEnv.push_back(n.get<std::string>());
      opts.allowRun = g.value("run", false);
    }
    opts.hardStopGraceSeconds = m.value("grace_s", 2.0);
    opts.onHardStop = [id](const Error& e) {
      send({{"op", "done"}, {"id", id}, {"error", errorJson(e)}, {"calls", takeCalls()}}, false);
      ::_exit(3);
    };
    opts.onStart = [id](RunContext& run) {
      run.service<RunFrames>([&run] { return std::make_shared<RunFrames>(run.loop()); });
      send({{"op", "started"}, {"id", id}, {"run_id", run.runId}});
      run.output = [id](const Value& v, std::string_view) { sendEvent(id, "spell.output", v); };
    };
    current = id;
    RunResult r = runSpell(opts);
    current.clear();
    json done = {{"op", "done"}, {"id", id}, {"calls", takeCalls()}};
    if (r.error) done["error"] = errorJson(*r.error);
    try {
      done["value"] = toJson(r.value);
    } catch (const std::exception&) {
      done["value"] = r.value.describe();
    }
    send(done, false);
  }
  return 0;
}

}  // namespace llmspell::serve
