// The JavaScript engine's debugger (see js_debug.hpp). Everything here runs on the isolate's
// thread: inside V8's pause (runMessageLoopOnPause), in an interrupt, or on the loop.
#include "engines/js/js_debug.hpp"

#include <optional>
#include <set>

#include "llmspell/core/error.hpp"

namespace llmspell {

using nlohmann::json;

namespace {

constexpr size_t kMaxEntries = 1000;  // an object's properties shown
const char* const kGroup = "llmspell-debugger";

std::string regexEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\^$.|?*+()[]{}/").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

// A url regex matching the script names that debugSourceMatches pairs with `file`: the name
// itself, a longer path ending in /file, or a shorter one that `file` ends with at a '/'.
std::string urlRegexFor(std::string_view file) {
  if (!file.empty() && file.front() == '@') file.remove_prefix(1);
  while (file.substr(0, 2) == "./") file.remove_prefix(2);
  std::string re = "^(?:\\./)*(?:.*/)?" + regexEscape(file) + "$";
  for (size_t i = file.find('/'); i != std::string_view::npos; i = file.find('/', i + 1))
    if (i + 1 < file.size()) re += "|^(?:\\./)*" + regexEscape(file.substr(i + 1)) + "$";
  return re;
}

std::string firstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

std::string quote(const std::string& s) {
  constexpr size_t kShown = 200;
  std::string shown = s.size() > kShown ? s.substr(0, kShown) : s;
  std::string out = json(shown).dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > kShown) out += "... (" + std::to_string(s.size()) + " bytes)";
  return out;
}

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

JsDebugger::JsDebugger(std::shared_ptr<DebugSession> session, JsDebugHost host)
    : session_(std::move(session)), host_(std::move(host)) {
  inspector_ = host_.inspector({[this](const std::string& t) { onNotification(t); }, [this] { onPaused(); }});
  call("Debugger.enable", json::object());
  sync();
}

JsDebugger::~JsDebugger() = default;

json JsDebugger::call(const std::string& method, const json& params) {
  std::string text = inspector_->call(method, params.dump(-1, ' ', true, json::error_handler_t::replace));
  json r = json::parse(text, nullptr, false);
  if (r.is_discarded()) throw Exception(Error(codes::kInternal, "the JavaScript inspector answered " + method + " with no JSON"));
  if (r.contains("error"))
    throw Exception(Error(codes::kInvalidArgument, method + ": " + str(r["error"], "message")));
  return r.value("result", json::object());
}

void JsDebugger::sync() {
  if (seenGeneration_ != session_->generation()) {
    seenGeneration_ = session_->generation();
    for (const auto& [id, bp] : v8Breakpoints_) call("Debugger.removeBreakpoint", {{"breakpointId", id}});
    v8Breakpoints_.clear();
    for (const auto& [file, lines] : session_->breakpointLines())
      for (int line : lines) {
        json r = call("Debugger.setBreakpointByUrl", {{"lineNumber", line - 1}, {"urlRegex", urlRegexFor(file)}});
        if (r.contains("breakpointId")) v8Breakpoints_[r["breakpointId"].get<std::string>()] = {file, line};
      }
  }
  bool onError = session_->breakOnError.load();
  if (static_cast<int>(onError) != seenBreakOnError_) {
    seenBreakOnError_ = onError;
    // Every exception, not V8's "uncaught": V8 predicts an exception caught when a promise
    // handler waits for it, and a module's top-level code (the whole of a spell) always has one
    // (V8's own, which evaluates modules), as does every promise the host waits on. So the error
    // switch stops where an exception is thrown in the spell's code, whether or not it catches it.
    call("Debugger.setPauseOnExceptions", {{"state", onError ? "all" : "none"}});
  }
}

void JsDebugger::beforeRun(const std::string& chunkName) {
  poll();
  if (!session_->stopOnEntry || !entryBreakpoint_.empty()) return;
  json r = call("Debugger.setBreakpointByUrl", {{"lineNumber", 0}, {"url", chunkName}});
  entryBreakpoint_ = str(r, "breakpointId");
}

void JsDebugger::onNotification(const std::string& text) {
  // Only two kinds matter; the rest (scriptParsed's siblings) is not parsed at all.
  if (text.find("\"Debugger.paused\"") != std::string::npos) {
    json j = json::parse(text, nullptr, false);
    if (!j.is_discarded() && str(j, "method") == "Debugger.paused") pausedEvent_ = j.value("params", json::object());
  } else if (text.find("\"Debugger.scriptParsed\"") != std::string::npos) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) return;
    json p = j.value("params", json::object());
    if (!str(p, "url").empty()) scriptUrls_[str(p, "scriptId")] = str(p, "url");
  }
}

std::string JsDebugger::sourceOf(const json& frame) const {
  std::string url = str(frame, "url");
  if (!url.empty()) return url;
  auto it = scriptUrls_.find(str(frame.value("location", json::object()), "scriptId"));
  return it == scriptUrls_.end() ? "" : it->second;
}

void JsDebugger::onPaused() {
  json ev = std::move(pausedEvent_);
  pausedEvent_ = json();
  if (inStop_) {  // a breakpoint in code the debugger itself runs (an expression, a condition)
    call("Debugger.resume", json::object());
    return;
  }
  callFrames_ = ev.value("callFrames", json::array());
  std::string reason = str(ev, "reason");
  bool spellCode = !callFrames_.empty() && !sourceOf(callFrames_[0]).empty();
  std::optional<DebugStop> stop;
  if (reason == "exception" || reason == "promiseRejection") {
    // A rejection made by the host (a failed host call) or inside the engine's own code stops
    // nowhere: it is thrown where the spell awaits it, and stops there.
    if (session_->breakOnError.load() && spellCode) {
      json data = ev.value("data", json::object());
      std::string text = firstLine(str(data, "description"));
      if (text.empty()) text = describe(data, "").value;
      stop = DebugStop{DebugStopReason::kException, 1, text, 0};
    }
  } else {
    for (const auto& h : ev.value("hitBreakpoints", json::array())) {
      std::string id = h.get<std::string>();
      if (id == entryBreakpoint_) {
        call("Debugger.removeBreakpoint", {{"breakpointId", id}});
        stop = DebugStop{DebugStopReason::kEntry, 1, "", 0};
        break;
      }
      auto it = v8Breakpoints_.find(id);
      DebugBreakpoint bp;
      if (it == v8Breakpoints_.end() || !session_->breakpointAt(it->second.file, it->second.line, bp)) continue;
      std::string condError;
      if (!bp.condition.empty()) {
        inStop_ = true;
        bool holds = true;
        try {
          json r = eval("!!(" + bp.condition + "\n)", 1);
          holds = r.value("value", false);
        } catch (const Exception& e) {
          condError = "breakpoint condition failed: " + e.error().message;  // stop and say why
        }
        inStop_ = false;
        if (!holds) continue;
      }
      if (!session_->countHit(bp.id)) continue;
      stop = DebugStop{DebugStopReason::kBreakpoint, 1, condError, bp.id};
      break;
    }
    if (!stop && stepping_) {
      // A step into the engine's own code (print, console): out again, on to the spell's.
      if (!spellCode) {
        call("Debugger.stepOut", json::object());
        return;
      }
      const json& top = callFrames_[0];
      if (stepMode_ != DebugResume::kStepOut && callFrames_.size() == stepDepth_ && sourceOf(top) == stepSource_ &&
          top.value("location", json::object()).value("lineNumber", -1) + 1 == stepLine_) {
        resume(stepMode_);  // still on the line it began on
        return;
      }
      stop = DebugStop{DebugStopReason::kStep, 1, "", 0};
    }
    if (!stop && session_->pauseRequested.load()) {
      if (!spellCode) {  // paused in the engine's own code: the next statement of the spell
        call("Debugger.stepInto", json::object());
        return;
      }
      stop = DebugStop{DebugStopReason::kPause, 1, "", 0};
    }
  }
  if (!stop) {
    resume(stepping_ ? DebugResume::kStepOver : DebugResume::kContinue);
    return;
  }
  resume(stopHere(*stop, true));
}

DebugResume JsDebugger::stopHere(const DebugStop& stop, bool paused) {
  inStop_ = true;
  stepping_ = false;
  DebugResume r = session_->stop(stop, *this);
  stepSource_.clear();
  stepLine_ = 0;
  stepDepth_ = callFrames_.size();
  if (!callFrames_.empty()) {
    stepSource_ = sourceOf(callFrames_[0]);
    stepLine_ = callFrames_[0].value("location", json::object()).value("lineNumber", -1) + 1;
  }
  refs_.clear();
  callFrames_ = json::array();
  try {
    call("Runtime.releaseObjectGroup", {{"objectGroup", kGroup}});
    poll();
  } catch (const Exception&) {
  }
  inStop_ = false;
  if (!paused && r == DebugResume::kTerminate) host_.terminate();
  return r;
}

void JsDebugger::resume(DebugResume r) {
  stepMode_ = r;
  switch (r) {
    case DebugResume::kStepIn:
      stepping_ = true;
      call("Debugger.stepInto", json::object());
      return;
    case DebugResume::kStepOver:
      stepping_ = true;
      call("Debugger.stepOver", json::object());
      return;
    case DebugResume::kStepOut:
      stepping_ = true;
      call("Debugger.stepOut", json::object());
      return;
    case DebugResume::kTerminate:
      host_.terminate();  // the termination happens as the script goes on
      [[fallthrough]];
    case DebugResume::kContinue:
      stepping_ = false;
      call("Debugger.resume", json::object());
      return;
  }
}

void JsDebugger::pauseRunning() {
  if (inStop_ || !session_->pauseRequested.load()) return;
  call("Debugger.pause", json::object());
}

void JsDebugger::pauseIdle() {
  if (inStop_ || !session_->pauseRequested.load() || host_.running()) return;
  callFrames_ = json::array();
  stopHere({DebugStopReason::kPause, 1, "", 0}, false);
}

// ---- what a stop shows ----

std::vector<DebugThread> JsDebugger::threads() { return {{1, "main"}}; }

std::vector<DebugFrame> JsDebugger::frames(int threadId) {
  std::vector<DebugFrame> out;
  if (threadId != 1) return out;
  for (size_t i = 0; i < callFrames_.size(); ++i) {
    const json& f = callFrames_[i];
    std::string source = sourceOf(f);
    if (source.empty()) continue;  // the engine's own code (print, console)
    DebugFrame d;
    d.id = static_cast<int>(i) + 1;
    d.source = source;
    d.line = f.value("location", json::object()).value("lineNumber", 0) + 1;
    d.name = str(f, "functionName");
    if (d.name.empty()) {
      bool local = false;
      for (const auto& s : f.value("scopeChain", json::array())) local = local || str(s, "type") == "local";
      d.name = local ? "(anonymous)" : "main chunk";
    }
    out.push_back(d);
  }
  return out;
}

int JsDebugger::addRef(Ref r) {
  refs_.push_back(std::move(r));
  return static_cast<int>(refs_.size());
}

std::vector<DebugScope> JsDebugger::scopes(int frameId) {
  if (frameId < 1 || frameId > static_cast<int>(callFrames_.size())) return {};
  // Locals: the function's own scope and the blocks inside it (innermost first); at a module's
  // top level, the module scope. Closure: the scopes of the functions it is nested in.
  Ref locals{{}, true}, closure{{}, true}, globals{{}, true};
  json chain = callFrames_[frameId - 1].value("scopeChain", json::array());
  bool hasLocal = false;
  for (const auto& s : chain) hasLocal = hasLocal || str(s, "type") == "local";
  bool inLocals = true;
  for (const auto& s : chain) {
    std::string type = str(s, "type"), id = str(s.value("object", json::object()), "objectId");
    if (id.empty()) continue;
    if (type == "global") {
      globals.objectIds.push_back(id);
      continue;
    }
    bool local = inLocals && (type == "local" || type == "block" || type == "catch" || type == "with" || type == "eval" ||
                              (!hasLocal && type == "module"));
    if (type == "local" || type == "module") inLocals = false;
    (local ? locals : closure).objectIds.push_back(id);
  }
  std::vector<DebugScope> out{{"Locals", addRef(std::move(locals))}};
  if (!closure.objectIds.empty()) out.push_back({"Closure", addRef(std::move(closure))});
  out.push_back({"Globals", addRef(std::move(globals))});
  return out;
}

DebugVariable JsDebugger::describe(const json& o, std::string name) {
  DebugVariable v;
  v.name = std::move(name);
  std::string type = str(o, "type"), subtype = str(o, "subtype");
  v.type = type;
  if (type == "undefined") {
    v.value = "undefined";
  } else if (type == "string") {
    v.value = quote(str(o, "value"));
  } else if (type == "boolean") {
    v.value = o.value("value", false) ? "true" : "false";
  } else if (type == "number" || type == "bigint" || type == "symbol") {
    v.value = str(o, "description");
    if (v.value.empty() && o.contains("value")) v.value = o["value"].dump();
  } else if (type == "object" && subtype == "null") {
    v.value = "null";
    v.type = "null";
  } else if (type == "function") {
    std::string d = firstLine(str(o, "description"));
    if (d.size() >= 2 && d.compare(d.size() - 2, 2, " {") == 0) d.resize(d.size() - 2);  // the signature
    v.value = d.size() > 80 ? d.substr(0, 80) + "..." : d;
  } else {
    v.value = firstLine(str(o, "description"));
    if (v.value.empty()) v.value = str(o, "className");
    if (!subtype.empty()) v.type = subtype;
    else if (!str(o, "className").empty()) v.type = str(o, "className");
  }
  std::string id = str(o, "objectId");
  if (type == "object" && !id.empty()) v.ref = addRef({{id}, false});
  return v;
}

std::vector<DebugVariable> JsDebugger::variables(int ref) {
  if (ref < 1 || ref > static_cast<int>(refs_.size())) return {};
  Ref r = refs_[ref - 1];
  std::vector<DebugVariable> out;
  std::set<std::string> seen;  // an inner scope's name hides an outer one's
  for (const auto& id : r.objectIds) {
    json res = call("Runtime.getProperties",
                    {{"objectId", id}, {"ownProperties", true}, {"generatePreview", false}, {"objectGroup", kGroup}});
    for (const auto& p : res.value("result", json::array())) {
      std::string name = str(p, "name");
      if (name == "__proto__" || !seen.insert(name).second) continue;
      // An object's own non-enumerable fields (an array's length) are noise; a scope's are not.
      if (!r.scope && !p.value("enumerable", true) && !p.contains("get")) continue;
      if (p.contains("value")) out.push_back(describe(p["value"], name));
      else out.push_back({name, "(getter)", "accessor", 0});
      if (out.size() >= kMaxEntries) return out;
    }
  }
  return out;
}

json JsDebugger::eval(const std::string& expr, int frameId) {
  json params = {{"expression", expr}, {"objectGroup", kGroup}, {"silent", true}, {"generatePreview", false}};
  std::string method = "Runtime.evaluate";
  params["contextId"] = inspector_->contextId();
  if (host_.timeLimitSeconds > 0) params["timeout"] = host_.timeLimitSeconds * 1000;
  if (frameId >= 1 && frameId <= static_cast<int>(callFrames_.size())) {
    params["callFrameId"] = callFrames_[frameId - 1].value("callFrameId", "");
    params.erase("contextId");
    method = "Debugger.evaluateOnCallFrame";
  }
  host_.evaluating(true);
  json r;
  try {
    r = call(method, params);
  } catch (const Exception& e) {
    host_.evaluating(false);
    if (e.error().message.find("Execution was terminated") != std::string::npos)
      throw Exception(Error(codes::kLimitExceeded, "the expression ran past the spell's time limit of " +
                                                       std::to_string(static_cast<int>(host_.timeLimitSeconds * 1000)) + " ms"));
    throw;
  }
  host_.evaluating(false);
  if (r.contains("exceptionDetails")) {
    json d = r["exceptionDetails"];
    std::string text = firstLine(str(d.value("exception", json::object()), "description"));
    if (text.empty()) text = str(d, "text");
    throw Exception(Error("script_error", text));
  }
  return r.value("result", json::object());
}

DebugVariable JsDebugger::evaluate(const std::string& expr, int frameId) {
  return describe(eval(expr, frameId), expr);
}

}  // namespace llmspell
