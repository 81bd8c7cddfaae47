// See js_inspector.hpp. Built with -fno-rtti (it subclasses V8's inspector classes).
#include "engines/js/js_inspector.hpp"

#include <v8-inspector.h>
#include <v8.h>

#include <chrono>
#include <unordered_map>

namespace llmspell::js {

namespace {

// A protocol message from V8: 8-bit views are the bytes of the JSON text, 16-bit ones UTF-16.
std::string toUtf8(const v8_inspector::StringView& v) {
  if (v.is8Bit()) return std::string(reinterpret_cast<const char*>(v.characters8()), v.length());
  std::string out;
  out.reserve(v.length());
  const uint16_t* s = v.characters16();
  for (size_t i = 0; i < v.length(); ++i) {
    uint32_t c = s[i];
    if (c >= 0xD800 && c < 0xDC00 && i + 1 < v.length() && s[i + 1] >= 0xDC00 && s[i + 1] < 0xE000)
      c = 0x10000 + ((c - 0xD800) << 10) + (s[++i] - 0xDC00);
    else if (c >= 0xD800 && c < 0xE000)
      c = 0xFFFD;  // a lone surrogate
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xE0 | (c >> 12));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (c >> 18));
      out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

v8_inspector::StringView view(const std::string& s) {
  return v8_inspector::StringView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

constexpr int kGroup = 1;

}  // namespace

struct Inspector::Impl final : v8_inspector::V8InspectorClient, v8_inspector::V8Inspector::Channel {
  v8::Isolate* iso;
  Hooks hooks;
  std::unique_ptr<v8_inspector::V8Inspector> inspector;
  std::unique_ptr<v8_inspector::V8InspectorSession> session;
  std::unordered_map<int, std::string> responses;
  int nextId = 1;
  int contextId = 0;

  // V8InspectorClient
  void runMessageLoopOnPause(int) override { hooks.paused(); }
  void quitMessageLoopOnPause() override {}
  double currentTimeMS() override {
    return std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch()).count();
  }

  // Channel
  void sendResponse(int callId, std::unique_ptr<v8_inspector::StringBuffer> message) override {
    responses[callId] = toUtf8(message->string());
  }
  void sendNotification(std::unique_ptr<v8_inspector::StringBuffer> message) override {
    if (hooks.notification) hooks.notification(toUtf8(message->string()));
  }
  void flushProtocolNotifications() override {}
};

Inspector::Inspector(v8::Isolate* isolate, v8::Local<v8::Context> context, Hooks hooks) : impl_(std::make_unique<Impl>()) {
  impl_->iso = isolate;
  impl_->hooks = std::move(hooks);
  impl_->inspector = v8_inspector::V8Inspector::create(isolate, impl_.get());
  static const char kName[] = "spell";
  impl_->inspector->contextCreated(
      v8_inspector::V8ContextInfo(context, kGroup, v8_inspector::StringView(reinterpret_cast<const uint8_t*>(kName), sizeof kName - 1)));
  impl_->contextId = v8_inspector::V8ContextInfo::executionContextId(context);
  impl_->session = impl_->inspector->connect(kGroup, impl_.get(), v8_inspector::StringView());
}

Inspector::~Inspector() {
  impl_->session.reset();
  impl_->inspector.reset();
}

int Inspector::contextId() const { return impl_->contextId; }

std::string Inspector::call(const std::string& method, const std::string& paramsJson) {
  int id = impl_->nextId++;
  std::string msg = "{\"id\":" + std::to_string(id) + ",\"method\":\"" + method + "\",\"params\":" +
                    (paramsJson.empty() ? std::string("{}") : paramsJson) + "}";
  impl_->session->dispatchProtocolMessage(view(msg));
  auto it = impl_->responses.find(id);
  if (it == impl_->responses.end()) return "{}";
  std::string out = std::move(it->second);
  impl_->responses.erase(it);
  return out;
}

}  // namespace llmspell::js
