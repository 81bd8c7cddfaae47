// `llmspell dap`: a Debug Adapter Protocol server for one debug session, over stdio or TCP on
// 127.0.0.1. A reader thread takes the client's messages: while the spell runs it answers the
// ones that need no stopped spell itself (breakpoints, pause, threads); while the spell is stopped
// it queues them for the runtime thread, which waits inside the engine's hook and answers them
// there (stack, variables, evaluate, stepping). The spell's stdout and stderr become `output`
// events, since on stdio the protocol owns the real stdout.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "cli/debug.hpp"
#include "llmspell/core/error.hpp"
#include "llmspell/core/log.hpp"

namespace llmspell::cli {

namespace {

using json = nlohmann::json;

// Content-Length framed messages on a pair of file descriptors.
class Transport {
 public:
  Transport(int in, int out) : in_(in), out_(out) {}

  std::optional<json> read() {
    size_t length = 0;
    for (;;) {
      std::string line;
      if (!readLine(line)) return std::nullopt;
      if (line.empty()) break;
      if (line.rfind("Content-Length:", 0) == 0) length = std::strtoul(line.c_str() + 15, nullptr, 10);
    }
    std::string body;
    while (body.size() < length) {
      if (pos_ == buf_.size() && !fill()) return std::nullopt;
      size_t n = std::min(length - body.size(), buf_.size() - pos_);
      body.append(buf_, pos_, n);
      pos_ += n;
    }
    try {
      return json::parse(body);
    } catch (const json::exception&) {
      return json::object();
    }
  }

  void send(const json& msg) {
    std::string body = msg.dump(-1, ' ', false, json::error_handler_t::replace);
    std::string frame = "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    std::lock_guard lk(mu_);
    for (size_t off = 0; off < frame.size();) {
      ssize_t n = ::write(out_, frame.data() + off, frame.size() - off);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }

 private:
  bool fill() {
    char tmp[4096];
    ssize_t n = ::read(in_, tmp, sizeof tmp);
    if (n <= 0) return false;
    buf_.erase(0, pos_);
    pos_ = 0;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }
  bool readLine(std::string& line) {
    for (;;) {
      auto nl = buf_.find('\n', pos_);
      if (nl != std::string::npos) {
        line = buf_.substr(pos_, nl - pos_);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        pos_ = nl + 1;
        return true;
      }
      if (!fill()) return false;
    }
  }

  int in_, out_;
  std::string buf_;
  size_t pos_ = 0;
  std::mutex mu_;
};

class DapSession final : public DebugSession {
 public:
  explicit DapSession(Transport& t) : t_(t) {}

  // ---- messages ----
  void event(const std::string& name, json body = json::object()) {
    t_.send({{"seq", seq_++}, {"type", "event"}, {"event", name}, {"body", std::move(body)}});
  }
  void respond(const json& req, json body = json::object()) {
    t_.send({{"seq", seq_++}, {"type", "response"}, {"request_seq", req.value("seq", 0)}, {"success", true},
             {"command", req.value("command", "")}, {"body", std::move(body)}});
  }
  void fail(const json& req, const std::string& message) {
    t_.send({{"seq", seq_++}, {"type", "response"}, {"request_seq", req.value("seq", 0)}, {"success", false},
             {"command", req.value("command", "")}, {"message", message},
             {"body", {{"error", {{"id", 1}, {"format", message}, {"showUser", false}}}}}});
  }
  void output(const std::string& category, const std::string& text) {
    event("output", {{"category", category}, {"output", text}});
  }

  // The reader thread: until the client goes.
  void readLoop() {
    while (auto msg = t_.read()) {
      if (msg->value("type", "") != "request") continue;
      std::unique_lock lk(mu_);
      if (paused_) {
        queue_.push_back(std::move(*msg));
        cv_.notify_all();
        continue;
      }
      lk.unlock();
      try {
        handleRunning(*msg);
      } catch (const json::exception& e) {
        fail(*msg, std::string("bad arguments: ") + e.what());
      }
    }
    std::lock_guard lk(mu_);
    closed_ = true;
    cv_.notify_all();
  }

  // Waits for launch and configurationDone (true), or the client's end (false).
  bool waitForLaunch() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return closed_ || disconnected_ || (configured_ && launch_); });
    // A client that sent its configuration and then closed its end still gets its run.
    return configured_ && launch_ && !disconnected_;
  }
  json launchArgs() {
    std::lock_guard lk(mu_);
    return *launch_;
  }
  void setSpellDir(std::string dir) { spellDir_ = std::move(dir); }
  void setRunning(bool on) {
    std::lock_guard lk(mu_);
    running_ = on;
  }
  // After the spell: waits for the client's disconnect (or its end).
  void waitForDisconnect() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return closed_ || disconnected_; });
  }

  DebugResume stopped(const DebugStop& stop, DebugTarget& target) override {
    if (terminating_) return DebugResume::kTerminate;
    auto threads = target.threads();
    {
      std::lock_guard lk(mu_);
      paused_ = true;
      lastThreads_ = std::move(threads);  // what `threads` answers once the spell runs again
    }
    json body = {{"reason", debugStopReasonName(stop.reason)}, {"threadId", stop.threadId}, {"allThreadsStopped", true}};
    if (!stop.text.empty()) {
      body["text"] = stop.text;
      body["description"] = stop.text;
    }
    if (stop.breakpointId) body["hitBreakpointIds"] = json::array({stop.breakpointId});
    event("stopped", body);
    std::optional<DebugResume> resume;
    while (!resume) {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return closed_ || !queue_.empty(); });
      if (queue_.empty()) {
        // The client is gone: the spell runs on without stops.
        setBreakpointsForAll();
        breakOnError.store(false);
        resume = DebugResume::kContinue;
        break;
      }
      json msg = std::move(queue_.front());
      queue_.pop_front();
      lk.unlock();
      resume = handlePaused(msg, target);
    }
    std::lock_guard lk(mu_);
    paused_ = false;
    // Requests that came in between: answered as while running.
    std::deque<json> left;
    left.swap(queue_);
    for (auto& m : left) handleRunningLocked(m);
    return *resume;
  }

 private:
  void setBreakpointsForAll() {
    for (const auto& f : breakpointLines()) setBreakpoints(f.first, {});
  }

  json capabilities() {
    return {{"supportsConfigurationDoneRequest", true},
            {"supportsConditionalBreakpoints", true},
            {"supportsHitConditionalBreakpoints", true},
            {"supportsEvaluateForHovers", true},
            {"supportsTerminateRequest", true},
            {"exceptionBreakpointFilters", json::array({{{"filter", "error"}, {"label", "Uncaught errors"}, {"default", true}}})}};
  }

  std::string pathOf(const std::string& source) {
    std::filesystem::path p(source);
    if (p.is_relative() && !spellDir_.empty()) p = std::filesystem::path(spellDir_) / p;
    return p.lexically_normal().string();
  }

  // Requests that need no stopped spell. On the reader thread (or after a stop, under mu_).
  void handleRunning(const json& req) {
    std::unique_lock lk(mu_);
    handleRunningLocked(req);
  }
  void handleRunningLocked(const json& req) {
    const std::string cmd = req.value("command", "");
    const json args = req.contains("arguments") ? req["arguments"] : json::object();
    if (cmd == "initialize") {
      respond(req, capabilities());
      event("initialized");
    } else if (cmd == "launch") {
      launch_ = args;
      stopOnEntry = args.value("stopOnEntry", false);
      respond(req);
      cv_.notify_all();
    } else if (cmd == "configurationDone") {
      configured_ = true;
      respond(req);
      cv_.notify_all();
    } else if (cmd == "setBreakpoints") {
      std::string path = args.contains("source") ? args["source"].value("path", "") : "";
      std::vector<DebugBreakpoint> bps;
      for (const auto& b : args.value("breakpoints", json::array()))
        bps.push_back({0, b.value("line", 0), b.value("condition", ""), b.value("hitCondition", ""), 0});
      json out = json::array();
      for (const auto& b : setBreakpoints(path, bps))
        out.push_back({{"id", b.id}, {"verified", true}, {"line", b.line}, {"source", {{"path", path}}}});
      respond(req, {{"breakpoints", out}});
    } else if (cmd == "setExceptionBreakpoints") {
      bool on = false;
      for (const auto& f : args.value("filters", json::array())) on = on || f == "error" || f == "all" || f == "uncaught";
      breakOnError.store(on);
      respond(req);
    } else if (cmd == "threads") {
      json ts = json::array();
      for (const auto& t : lastThreads_) ts.push_back({{"id", t.id}, {"name", t.name}});
      if (ts.empty()) ts.push_back({{"id", 1}, {"name", "main"}});
      respond(req, {{"threads", ts}});
    } else if (cmd == "pause") {
      respond(req);
      requestPause();
    } else if (cmd == "continue") {
      respond(req, {{"allThreadsContinued", true}});
    } else if (cmd == "next" || cmd == "stepIn" || cmd == "stepOut") {
      respond(req);
    } else if (cmd == "disconnect" || cmd == "terminate") {
      respond(req);
      if (running_) {
        // Ends the spell at its next stop, which the pause brings about.
        terminating_ = true;
        requestPause();
      }
      if (cmd == "disconnect") disconnected_ = true;
      cv_.notify_all();
    } else {
      fail(req, cmd + " needs a stopped spell");
    }
  }

  // At a stop, on the runtime thread. Returns how to resume, or nothing to stay stopped.
  std::optional<DebugResume> handlePaused(const json& req, DebugTarget& target) {
    const std::string cmd = req.value("command", "");
    const json args = req.contains("arguments") ? req["arguments"] : json::object();
    try {
      if (cmd == "threads") {
        json ts = json::array();
        for (const auto& t : target.threads()) ts.push_back({{"id", t.id}, {"name", t.name}});
        respond(req, {{"threads", ts}});
      } else if (cmd == "stackTrace") {
        auto frames = target.frames(args.value("threadId", 0));
        size_t start = args.value("startFrame", 0);
        size_t levels = args.value("levels", 0);
        json out = json::array();
        for (size_t i = start; i < frames.size() && (levels == 0 || i < start + levels); ++i) {
          const auto& f = frames[i];
          json fr = {{"id", f.id}, {"name", f.name}, {"line", f.line}, {"column", f.line > 0 ? 1 : 0}};
          if (!f.source.empty())
            fr["source"] = {{"name", std::filesystem::path(f.source).filename().string()}, {"path", pathOf(f.source)}};
          else fr["presentationHint"] = "subtle";
          out.push_back(fr);
        }
        respond(req, {{"stackFrames", out}, {"totalFrames", frames.size()}});
      } else if (cmd == "scopes") {
        json out = json::array();
        for (const auto& s : target.scopes(args.value("frameId", 0)))
          out.push_back({{"name", s.name}, {"variablesReference", s.ref}, {"expensive", s.name == "Globals"}});
        respond(req, {{"scopes", out}});
      } else if (cmd == "variables") {
        json out = json::array();
        for (const auto& v : target.variables(args.value("variablesReference", 0)))
          out.push_back({{"name", v.name}, {"value", v.value}, {"type", v.type}, {"variablesReference", v.ref}});
        respond(req, {{"variables", out}});
      } else if (cmd == "evaluate") {
        DebugVariable v = target.evaluate(args.value("expression", ""), args.value("frameId", 0));
        respond(req, {{"result", v.value}, {"type", v.type}, {"variablesReference", v.ref}});
      } else if (cmd == "continue") {
        respond(req, {{"allThreadsContinued", true}});
        return DebugResume::kContinue;
      } else if (cmd == "next") {
        respond(req);
        return DebugResume::kStepOver;
      } else if (cmd == "stepIn") {
        respond(req);
        return DebugResume::kStepIn;
      } else if (cmd == "stepOut") {
        respond(req);
        return DebugResume::kStepOut;
      } else if (cmd == "pause") {
        respond(req);
      } else if (cmd == "disconnect" || cmd == "terminate") {
        respond(req);
        std::lock_guard lk(mu_);
        if (cmd == "disconnect") disconnected_ = true;
        cv_.notify_all();
        return DebugResume::kTerminate;
      } else {
        std::lock_guard lk(mu_);
        handleRunningLocked(req);
      }
    } catch (const Exception& e) {
      fail(req, e.error().message);
    } catch (const json::exception& e) {
      fail(req, std::string("bad arguments: ") + e.what());
    }
    return std::nullopt;
  }

  Transport& t_;
  std::atomic<int> seq_{1};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<json> queue_;
  bool paused_ = false, closed_ = false, configured_ = false, disconnected_ = false, running_ = false;
  std::atomic<bool> terminating_{false};
  std::optional<json> launch_;
  std::vector<DebugThread> lastThreads_;
  std::string spellDir_;
};

// Copies what is written to `fd` (stdout or stderr) into output events until the write end closes.
struct OutputPump {
  int saved = -1;  // the original descriptor, put back at the end
  int readEnd = -1;
  std::thread thread;

  void start(int fd, DapSession& s, const char* category) {
    int p[2];
    if (::pipe(p) != 0) return;
    saved = ::dup(fd);
    ::dup2(p[1], fd);
    ::close(p[1]);
    readEnd = p[0];
    thread = std::thread([this, &s, category] {
      char buf[4096];
      ssize_t n;
      while ((n = ::read(readEnd, buf, sizeof buf)) > 0) s.output(category, std::string(buf, static_cast<size_t>(n)));
    });
  }
  void stop(int fd) {
    if (saved < 0) return;
    ::dup2(saved, fd);  // closes the pipe's write end: the thread reads to the end
    ::close(saved);
    thread.join();
    ::close(readEnd);
  }
};

std::string str(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::vector<std::string> strings(const json& args, const char* key) {
  std::vector<std::string> out;
  if (args.contains(key)) {
    if (args[key].is_array()) for (const auto& v : args[key]) out.push_back(str(v));
    else out.push_back(str(args[key]));
  }
  return out;
}

}  // namespace

int dap(int port, const std::function<RunResult(RunOptions&)>& runSpellWith) {
  int in = 0, out = ::dup(1);
  if (port > 0) {
    int ls = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (ls < 0 || ::bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(ls, 1) != 0) {
      std::fprintf(stderr, "error[invalid_argument]: cannot listen on 127.0.0.1:%d\n", port);
      return 2;
    }
    std::fprintf(stderr, "llmspell dap: listening on 127.0.0.1:%d\n", port);
    int s = ::accept(ls, nullptr, nullptr);
    ::close(ls);
    if (s < 0) return 1;
    ::close(out);
    in = out = s;
  }
  Transport transport(in, out);
  DapSession session(transport);
  std::shared_ptr<DapSession> keep(&session, [](DapSession*) {});  // the runner's handle; lives here
  std::fflush(stdout);
  std::fflush(stderr);
  OutputPump outPump, errPump;
  outPump.start(1, session, "stdout");
  errPump.start(2, session, "stderr");
  std::thread reader([&] { session.readLoop(); });
  int code = 0;
  if (session.waitForLaunch()) {
    json args = session.launchArgs();
    RunOptions opts;
    opts.spellPath = args.value("program", "");
    if (args.contains("cwd") && args["cwd"].is_string()) std::filesystem::current_path(args["cwd"].get<std::string>());
    if (!opts.spellPath.empty())
      session.setSpellDir(std::filesystem::absolute(opts.spellPath).parent_path().string());
    opts.args = strings(args, "args");
    if (args.contains("params") && args["params"].is_object())
      for (const auto& [k, v] : args["params"].items()) opts.params.emplace_back(k, str(v));
    opts.allowRead = strings(args, "allowRead");
    opts.allowWrite = strings(args, "allowWrite");
    opts.allowNet = strings(args, "allowNet");
    opts.allowEnv = strings(args, "allowEnv");
    opts.allowRun = args.value("allowRun", false);
    opts.engine = args.value("engine", "");
    opts.model = args.value("model", "");
    if (args.contains("timeout")) opts.timeoutSeconds = args.value("timeout", 0.0);
    if (args.contains("mockReplies")) opts.extraConfig.asObject().set("mock_replies", str(args["mockReplies"]));
    if (args.contains("replay")) opts.extraConfig.asObject().set("replay", str(args["replay"]));
    if (!args.value("noDebug", false)) opts.debugger = keep;
    session.setRunning(true);
    RunResult r;
    if (opts.spellPath.empty()) {
      r.exitCode = 2;
      r.error = Error(codes::kInvalidArgument, "launch needs a program (the spell to debug)");
    } else {
      r = runSpellWith(opts);
    }
    session.setRunning(false);
    std::fflush(stdout);
    std::fflush(stderr);
    for (const auto& e : r.unobservedTaskErrors)
      session.output("stderr", redactSecrets("warning: a spawned task failed and nothing waited for it: error[" + e.code + "]: " + e.message) + "\n");
    if (r.error) {
      const Error& e = *r.error;
      std::string where = (!e.source.empty() && e.line > 0) ? " (at " + e.source + ":" + std::to_string(e.line) + ")" : "";
      session.output("stderr", redactSecrets("error[" + e.code + "]: " + e.message + where) + "\n");
    } else if (!r.value.isNull()) {
      session.output("console", "result: " + (r.value.isString() ? r.value.asString() : r.value.describe()) + "\n");
    }
    code = r.exitCode;
    outPump.stop(1);
    errPump.stop(2);
    session.event("exited", {{"exitCode", code}});
    session.event("terminated");
    session.waitForDisconnect();
  } else {
    outPump.stop(1);
    errPump.stop(2);
  }
  // The reader may be blocked reading a client that stays connected: the process ends anyway.
  std::fflush(nullptr);
  reader.detach();
  std::_Exit(code);
}

}  // namespace llmspell::cli
