// V8's inspector for one context, driven in-process over the Chrome DevTools Protocol: the JSON
// commands a DevTools front end would send (Debugger.enable, Debugger.setBreakpointByUrl,
// Runtime.getProperties...), answered synchronously on the isolate's thread. The debugger of the
// JavaScript engine (js_debug.cpp) is built on it; nothing of it is visible to the spell.
//
// Its own translation unit, built with -fno-rtti, because it subclasses V8's inspector classes
// (libnode's V8 has no RTTI); no V8 inspector type appears here.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace v8 {
class Isolate;
class Context;
template <class T>
class Local;
}  // namespace v8

namespace llmspell::js {

class Inspector {
 public:
  struct Hooks {
    // A protocol notification (Debugger.paused, Debugger.scriptParsed...) as JSON text.
    std::function<void(const std::string& json)> notification;
    // V8 stopped the script (after its Debugger.paused notification). Return once a command
    // that resumes it (Debugger.resume, Debugger.stepOver...) has been sent.
    std::function<void()> paused;
  };

  // Connects a session to `context` (the isolate and context must outlive the Inspector).
  Inspector(v8::Isolate* isolate, v8::Local<v8::Context> context, Hooks hooks);
  ~Inspector();
  Inspector(const Inspector&) = delete;
  Inspector& operator=(const Inspector&) = delete;

  // Sends a command (JSON text with "method" and "params"; its "id" is set here) and returns the
  // response's JSON text. ASCII in: non-ASCII characters as \u escapes.
  std::string call(const std::string& method, const std::string& paramsJson);
  // The context's id in the protocol (Runtime.evaluate's contextId).
  int contextId() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmspell::js
