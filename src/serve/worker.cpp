// The worker process of `llmspell serve`: one run at a time, each through runSpell exactly as
// `llmspell run` does, with the run's events, outputs and result sent to the parent as frames.
// A limit the engine cannot enforce in-process (a built-in call that never returns) ends this
// process; the parent sees the frame sent first, or the exit, and starts another worker.
#include <fcntl.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <optional>
#include <filesystem>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

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

// Frames go out in batches: what a run sends on its loop thread is written in one write when the
// loop is about to wait for something (Loop::setBeforeWait), or with `done`. A run that never
// waits (the echo agent on the mock model) is one write. A write per frame, and the parent's
// wakeup for each, was a tenth of a short run's system calls.
constexpr size_t kPendingMax = 64u << 10;  // written at once past this (a spell emitting in a loop)
std::string pending;
Loop* runLoop = nullptr;  // the current run's loop, while its RunContext lives (RunFrames)

void writePending() {
  if (pending.empty()) return;
  writeAll(parentFd, pending);
  pending.clear();
}

void sendText(const std::string& text, bool batch = true) {
  if (text.size() > kMaxFrameBytes) return;
  std::lock_guard<std::mutex> lock(sendMu);
  pending += frame(text);
  if (!batch || !runLoop || !runLoop->inLoopThread() || pending.size() > kPendingMax) writePending();
}

void send(const json& j) { sendText(j.dump(-1, ' ', false, json::error_handler_t::replace), false); }

// Whole frames (`done` and the rows before it), written now with what is pending.
void sendFrames(const std::string& frames) {
  std::lock_guard<std::mutex> lock(sendMu);
  pending += frames;
  writePending();
}

// A Value as JSON text; one JSON cannot hold (a function, a handle) as its description.
std::string jsonTextOf(const Value& v) {
  try {
    return toJsonText(v);
  } catch (const std::exception&) {
    std::string text;
    appendJsonString(text, v.describe());
    return text;
  }
}

// An event's frame: its data written straight from its Value as JSON text, which the parent
// keeps as it is (building an nlohmann tree per event was a tenth of an echo run).
void sendEvent(const std::string& id, const std::string& name, const Value& data) {
  std::string text = jsonTextOf(data);
  FieldFrame f(kEventTag);
  f.add(id).add(name).add(text);
  // What the parent counts (the run's usage and cost, the metrics), read here from the Value so
  // that the parent need not parse the data: parsing each model call's event was a fifth of what
  // the parent spent on an echo run.
  auto number = [](const Value& obj, std::initializer_list<const char*> keys) {
    double n = 0;
    for (const char* k : keys)  // the last one present wins
      if (obj.get(k).isNumber()) n = obj.get(k).asNumber();
    std::string out;
    appendJsonDouble(out, n);
    return out;
  };
  if (name == "llm.response") {
    const Value& u = data.get("usage");
    f.add(data.getString("provider")).add(data.getString("model"));
    f.add(number(u, {"input_tokens", "prompt_tokens"})).add(number(u, {"output_tokens", "completion_tokens"}));
    f.add(number(data, {"cost_usd"}));
  } else if (name == "llm.error") {
    f.add(data.getString("model")).add(data.getString("code"));
  } else if (name == "tool.result") {
    f.add(data.getString("tool", data.getString("name")));
  }
  sendText(f.body());
}

// A service of the run's context: its loop writes the pending frames before it waits, while the
// context lives.
class RunFrames {
 public:
  explicit RunFrames(Loop& loop) : loop_(loop) {
    std::lock_guard<std::mutex> lock(sendMu);
    runLoop = &loop;
    loop.setBeforeWait([] {
      std::lock_guard<std::mutex> l(sendMu);
      writePending();
    });
  }
  ~RunFrames() {  // what is pending goes with `done`, sent when runSpell returns
    loop_.setBeforeWait(nullptr);
    std::lock_guard<std::mutex> lock(sendMu);
    runLoop = nullptr;
  }
  RunFrames(const RunFrames&) = delete;
  RunFrames& operator=(const RunFrames&) = delete;

 private:
  Loop& loop_;
};

// The run's call log rows, as frames: the parent writes them (CallLog::forwardTo). Appended on
// the run's thread, sent before `done` (or the hard-stop watchdog's). Optional numbers absent
// are empty fields.
std::mutex callsMu;
std::string calls;  // whole frames, length included
constexpr size_t kMaxErrorBytes = 1u << 20;

void forwardCall(const std::string& path, const llm::CallLog::Row& r) {
  std::string ts, cost;
  appendJsonDouble(ts, r.ts);
  if (r.costUsd && std::isfinite(*r.costUsd)) appendJsonDouble(cost, *r.costUsd);
  FieldFrame f(kCallTag);
  f.add(path).add(ts).add(r.runId).add(r.spell).add(r.model).add(r.provider).add(r.finishReason).add(r.errorCode);
  f.add(std::to_string(r.latencyMs));
  f.add(r.inputTokens ? std::to_string(*r.inputTokens) : "");
  f.add(r.outputTokens ? std::to_string(*r.outputTokens) : "");
  f.add(cost);
  std::lock_guard<std::mutex> lock(callsMu);
  calls += frame(f.body());
}

// `done` for run `id`, after its call log rows: its error or value. Whole frames, to be written
// as they are.
std::string doneFrames(const std::string& id, const std::optional<Error>& error, const Value* value) {
  std::string out;
  {
    std::lock_guard<std::mutex> lock(callsMu);
    out.swap(calls);
  }
  std::string valueText = value ? jsonTextOf(*value) : std::string();
  std::optional<Error> err = error;
  if (!err && valueText.size() > kMaxFrameBytes - 4096) {
    err = Error(codes::kLimitExceeded, "the spell's result is " + std::to_string(valueText.size() >> 20) +
                                           " MiB of JSON, more than a run can return (" +
                                           std::to_string(kMaxFrameBytes >> 20) + " MiB)");
    valueText.clear();
  }
  std::string_view message = err ? std::string_view(err->message) : std::string_view();
  if (message.size() > kMaxErrorBytes) message = message.substr(0, kMaxErrorBytes);  // a frame has a bound
  FieldFrame f(kDoneTag);
  f.add(id).add(err ? err->code : "").add(message).add(valueText);
  return out + frame(f.body());
}

// The spells this worker has found and read, kept until a file in their directories changes.
// Finding and reading a spell was 44 system calls of an echo run's 76 (the manifest and entry
// resolved, checked against links and read, each twice over) and a tenth of its instructions.
// The kernel says what changed (inotify): a run asks with one read that finds nothing, and any
// change in a watched directory (a file written, added, removed, renamed, its mode changed, the
// directory itself moved or removed) or a lost event drops every spell kept. Watched: the
// spell's directory, the directories down to its entry, and the directory above the spell's
// (where it can be renamed or replaced). After a change the watches are added again by path, so a
// directory replaced by another at the same path is watched in its place. A spell that fails to
// load is not kept: its error is reported afresh by the run. Without inotify, nothing is kept.
class SpellCache {
 public:
  SpellCache() : fd_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {}
  ~SpellCache() {
    if (fd_ >= 0) ::close(fd_);
  }
  SpellCache(const SpellCache&) = delete;
  SpellCache& operator=(const SpellCache&) = delete;

  // The spell of `opts` (its spellPath), found and read; null when it cannot be (runSpell then
  // finds the problem and reports it).
  std::shared_ptr<const LoadedSpell> get(const RunOptions& opts) {
    if (fd_ < 0 || opts.spellPath.empty()) return nullptr;
    if (changed()) forget();
    if (auto it = spells_.find(opts.spellPath); it != spells_.end()) return it->second;
    std::error_code ec;
    fs::path dir = fs::absolute(opts.spellPath, ec).lexically_normal();
    if (ec) return nullptr;
    // Watched before reading, so a change made while it is read is seen.
    if (!watch(dir) || !watch(dir.parent_path())) return nullptr;
    for (int attempt = 0; attempt < 2; ++attempt) {
      std::shared_ptr<const LoadedSpell> loaded;
      try {
        loaded = std::make_shared<const LoadedSpell>(loadSpell(opts));
      } catch (const std::exception&) {
        return nullptr;
      }
      // An entry in a directory of its own: the directories down to it are watched once it is
      // known, and the spell is read again under those watches.
      fs::path entryDir = fs::path(loaded->entryPath).lexically_normal().parent_path();
      auto rel = entryDir.lexically_relative(dir);
      if (rel.empty() || *rel.begin() == "..") return loaded;  // not kept
      bool fresh = true;
      fs::path d = dir;
      for (const auto& part : rel) {
        if (part == ".") continue;
        d /= part;
        if (watched_.count(d.string())) continue;
        if (!watch(d)) return loaded;
        fresh = false;
      }
      if (changed()) {
        forget();
        return loaded;  // for this run only
      }
      if (fresh || attempt == 1) {
        if (spells_.size() >= kMaxSpells) spells_.clear();
        spells_[opts.spellPath] = loaded;
        return loaded;
      }
    }
    return nullptr;
  }

 private:
  static constexpr size_t kMaxSpells = 256;
  static constexpr uint32_t kEvents = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO |
                                      IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF;

  // Drops every spell kept, and the record of what is watched: the next get() watches its
  // directories again by path (the kernel keeps one watch per directory it already watches).
  void forget() {
    spells_.clear();
    watched_.clear();
  }

  bool watch(const fs::path& dir) {
    if (watched_.count(dir.string())) return true;
    if (::inotify_add_watch(fd_, dir.c_str(), kEvents | IN_ONLYDIR) < 0) return false;
    watched_.insert(dir.string());
    return true;
  }

  // Whether anything happened in a watched directory since the last call (the events read and
  // dropped).
  bool changed() {
    alignas(struct inotify_event) char buf[4096];
    bool any = false;
    for (;;) {
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      any = true;
    }
    return any;
  }

  int fd_;
  std::unordered_map<std::string, std::shared_ptr<const LoadedSpell>> spells_;
  std::unordered_set<std::string> watched_;
};

// A number field of a run frame (frame.hpp), as JSON wrote it; throws when it is not one (a limit
// read as 0 would be no limit).
double numberIn(std::string_view s) {
  double v = 0;
  if (!numberField(s, v) || !std::isfinite(v) || v < 0) throw std::invalid_argument("'" + std::string(s) + "' is not a limit");
  return v;
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
  send({{"op", "ready"}, {"pid", ::getpid()}});
  SpellCache spells;
  std::error_code cwdError;
  const std::string baseDir = fs::current_path(cwdError).string();  // a worker never changes it
  std::string text;
  while (readFrame(fd, text)) {
    // A run (frame.hpp, kRunTag); its parts that are JSON are read straight into Values.
    if (text.empty() || text[0] != kRunTag) continue;
    FieldReader f(text);
    std::string_view id, spell, dir, dataDir, grace, timeout, memory, instructions, traceparent, params, typed, config, grants;
    if (!f.next(id)) continue;
    bool whole = true;
    for (std::string_view* field : {&spell, &dir, &dataDir, &grace, &timeout, &memory, &instructions, &traceparent,
                                    &params, &typed, &config, &grants})
      whole = whole && f.next(*field);
    if (!whole) {  // the parent's own frame cut short: a bug if it ever happens, answered at once
      sendFrames(doneFrames(std::string(id), Error(codes::kInternal, "a run frame was cut short"), nullptr));
      continue;
    }
    RunOptions opts;
    try {
      opts.spellPath = spell;
      opts.outputFormat = "json";
      opts.dataDir = dataDir;
      if (Value given = params.empty() ? Value::object() : parseJson(params); given.isObject())
        for (const auto& [k, v] : given.asObject()) opts.params.emplace_back(k, v.isString() ? v.asString() : v.describe());
      if (!typed.empty()) opts.typedParams = parseJson(typed);
      if (!timeout.empty()) opts.timeoutSeconds = numberIn(timeout);
      if (!memory.empty()) opts.memoryMb = static_cast<size_t>(numberIn(memory));
      if (!instructions.empty()) opts.instructions = static_cast<uint64_t>(numberIn(instructions));
      if (!grace.empty()) opts.hardStopGraceSeconds = numberIn(grace);
      if (!config.empty()) opts.extraConfig = parseJson(config);
      opts.traceparent = traceparent;
      if (!grants.empty()) {
        Value g = parseJson(grants);
        std::string base(dir);
        opts.manifestGrants = false;
        auto each = [&g](const char* kind, auto add) {
          const Value& list = g.get(kind);
          if (list.isArray())
            for (const auto& x : list.asArray())
              if (x.isString()) add(x.asString());
        };
        each("net", [&](const std::string& h) { opts.allowNet.push_back(h); });
        each("read", [&](const std::string& p) { opts.allowRead.push_back(absoluteIn(base, p)); });
        each("write", [&](const std::string& p) { opts.allowWrite.push_back(absoluteIn(base, p)); });
        each("env", [&](const std::string& n) { opts.allowEnv.push_back(n); });
        opts.allowRun = g.getBool("run");
      }
    } catch (const std::exception& e) {  // the parent's own frame: a bug if it ever happens
      sendFrames(doneFrames(std::string(id), Error(codes::kInternal, std::string("a run frame was not understood: ") + e.what()), nullptr));
      continue;
    }
    opts.loaded = spells.get(opts);
    opts.baseDir = baseDir;
    opts.onHardStop = [id = std::string(id)](const Error& e) {
      sendFrames(doneFrames(id, e, nullptr));
      ::_exit(3);
    };
    opts.onStart = [id = std::string(id)](RunContext& run) {
      run.service<RunFrames>([&run] { return std::make_shared<RunFrames>(run.loop()); });
      sendText(FieldFrame(kStartedTag).add(id).add(run.runId).body());
      run.output = [id](const Value& v, std::string_view) { sendEvent(id, "spell.output", v); };
    };
    current = id;
    RunResult r = runSpell(opts);
    current.clear();
    sendFrames(doneFrames(std::string(id), r.error, &r.value));
  }
  return 0;
}

}  // namespace llmspell::serve
