// Chat types: helpers, streamed tool-call reassembly, and conversions to/from script Values.
#include "llmspell/llm/types.hpp"

#include <algorithm>

#include "llm/json_util.hpp"
#include "llm/simd_util.hpp"
#include "llmspell/core/convert.hpp"
#include "llmspell/core/error.hpp"

namespace llmspell::llm {

std::string_view roleName(Role r) {
  switch (r) {
    case Role::kSystem: return "system";
    case Role::kUser: return "user";
    case Role::kAssistant: return "assistant";
    case Role::kTool: return "tool";
  }
  return "user";
}

Role parseRole(std::string_view s) {
  if (s == "system" || s == "developer") return Role::kSystem;
  if (s == "user") return Role::kUser;
  if (s == "assistant" || s == "model") return Role::kAssistant;
  if (s == "tool") return Role::kTool;
  fail(codes::kInvalidArgument, "unknown message role \"" + std::string(s) +
                                    "\" (expected system, user, assistant or tool)");
}

ContentPart ContentPart::textPart(std::string t) {
  ContentPart p;
  p.kind = Kind::kText;
  p.text = std::move(t);
  return p;
}
ContentPart ContentPart::imageUrl(std::string url) {
  ContentPart p;
  p.kind = Kind::kImage;
  p.url = std::move(url);
  return p;
}
ContentPart ContentPart::imageBytes(std::string bytes, std::string mediaType) {
  ContentPart p;
  p.kind = Kind::kImage;
  p.data = std::move(bytes);
  p.mediaType = std::move(mediaType);
  return p;
}
ContentPart ContentPart::toolCallPart(ToolCall c) {
  ContentPart p;
  p.kind = Kind::kToolCall;
  p.call = std::move(c);
  return p;
}
ContentPart ContentPart::toolResult(std::string callId, std::string name, std::string content,
                                    bool isError) {
  ContentPart p;
  p.kind = Kind::kToolResult;
  p.toolCallId = std::move(callId);
  p.toolName = std::move(name);
  p.text = std::move(content);
  p.isError = isError;
  return p;
}

Message Message::system(std::string text) { return {Role::kSystem, {ContentPart::textPart(std::move(text))}}; }
Message Message::user(std::string text) { return {Role::kUser, {ContentPart::textPart(std::move(text))}}; }
Message Message::assistant(std::string text) {
  return {Role::kAssistant, {ContentPart::textPart(std::move(text))}};
}
Message Message::tool(std::string callId, std::string name, std::string content, bool isError) {
  return {Role::kTool,
          {ContentPart::toolResult(std::move(callId), std::move(name), std::move(content), isError)}};
}

std::string Message::text() const {
  std::string out;
  for (const auto& p : parts) {
    if (p.kind == ContentPart::Kind::kText) out += p.text;
  }
  return out;
}

std::vector<ToolCall> Message::toolCalls() const {
  std::vector<ToolCall> out;
  for (const auto& p : parts) {
    if (p.kind == ContentPart::Kind::kToolCall) out.push_back(p.call);
  }
  return out;
}

bool Message::hasToolCalls() const {
  return std::any_of(parts.begin(), parts.end(),
                     [](const ContentPart& p) { return p.kind == ContentPart::Kind::kToolCall; });
}

std::string_view finishReasonName(FinishReason f) {
  switch (f) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kToolCalls: return "tool_calls";
    case FinishReason::kContentFilter: return "content_filter";
    case FinishReason::kError: return "error";
    case FinishReason::kOther: return "other";
  }
  return "other";
}

FinishReason parseFinishReason(std::string_view s) {
  if (s == "stop") return FinishReason::kStop;
  if (s == "length") return FinishReason::kLength;
  if (s == "tool_calls") return FinishReason::kToolCalls;
  if (s == "content_filter") return FinishReason::kContentFilter;
  if (s == "error") return FinishReason::kError;
  return FinishReason::kOther;
}

// ---- ToolCallAssembler ----

void ToolCallAssembler::apply(const ToolCallDelta& d) {
  auto it = std::find_if(slots_.begin(), slots_.end(), [&](const Slot& s) { return s.index == d.index; });
  if (it == slots_.end()) {
    slots_.push_back(Slot{d.index, {}, false});
    it = slots_.end() - 1;
  }
  if (!d.id.empty()) it->call.id = d.id;
  if (!d.name.empty()) it->call.name = d.name;  // assign: some servers repeat the name
  it->call.rawArguments += d.argumentsDelta;
}

void ToolCallAssembler::addWhole(ToolCall c) {
  int64_t next = 0;
  for (const auto& s : slots_) next = std::max(next, s.index + 1);
  slots_.push_back(Slot{next, std::move(c), true});
}

std::vector<ToolCall> ToolCallAssembler::finish() const {
  std::vector<Slot> sorted = slots_;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Slot& a, const Slot& b) { return a.index < b.index; });
  std::vector<ToolCall> out;
  for (auto& s : sorted) {
    ToolCall c = s.call;
    if (!s.whole) c.arguments = parseToolArguments(c.rawArguments, &c.argumentsError);
    out.push_back(std::move(c));
  }
  return out;
}

Value parseToolArguments(std::string_view text, std::string* error) {
  auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return Value::object();
  {
    // Straight to a Value with simdjson; its own parser, because callers read tool arguments
    // while holding a reply parsed with threadParser(). Text it refuses goes to nlohmann below,
    // so the error messages are what they always were.
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(text.data(), text.size()).get(doc) == simdjson::SUCCESS) {
      if (doc.is_object()) return simdToValue(doc);
      if (error) *error = "tool arguments are not a JSON object";
      return Value::object();
    }
  }
  try {
    auto j = ojson::parse(text.begin(), text.end());
    if (j.is_object()) return fromOjson(j);
    if (error) *error = "tool arguments are not a JSON object";
  } catch (const std::exception& e) {
    if (error) *error = std::string("tool arguments are not valid JSON: ") + e.what();
  }
  return Value::object();
}

// ---- Script shapes ----

namespace {

Value partToValue(const ContentPart& p) {
  switch (p.kind) {
    case ContentPart::Kind::kText: return Value::object({{"type", "text"}, {"text", p.text}});
    case ContentPart::Kind::kImage: {
      Value v = Value::object({{"type", "image"}});
      if (!p.url.empty()) v.asObject().set("url", p.url);
      if (!p.data.empty()) v.asObject().set("data", Bytes{p.data});
      if (!p.mediaType.empty()) v.asObject().set("media_type", p.mediaType);
      return v;
    }
    case ContentPart::Kind::kReasoning: {
      Value v = Value::object({{"type", "reasoning"}, {"text", p.text}});
      if (!p.signature.empty()) v.asObject().set("signature", p.signature);
      return v;
    }
    case ContentPart::Kind::kToolCall: {
      Value v = toValue(p.call);
      v.asObject().set("type", "tool_call");
      return v;
    }
    case ContentPart::Kind::kToolResult:
      return Value::object({{"type", "tool_result"},
                            {"tool_call_id", p.toolCallId},
                            {"name", p.toolName},
                            {"content", p.text},
                            {"is_error", p.isError}});
  }
  return Value();
}

std::string contentAsText(const Value& v) {
  if (v.isString()) return v.asString();
  if (v.isNull()) return "";
  return toJsonText(v);
}

ContentPart partFromValue(const Value& v, size_t i) {
  if (v.isString()) return ContentPart::textPart(v.asString());
  if (!v.isObject()) {
    fail(codes::kInvalidArgument,
         "message content part " + std::to_string(i + 1) + " must be a string or a table, got " +
             v.describe());
  }
  std::string type = v.getString("type", v.get("url").isNull() && v.get("data").isNull() ? "text" : "image");
  if (type == "text") return ContentPart::textPart(v.getString("text"));
  if (type == "image" || type == "image_url") {
    const Value& url = v.get("url");
    if (url.isString()) {
      ContentPart p = ContentPart::imageUrl(url.asString());
      p.mediaType = v.getString("media_type");
      return p;
    }
    const Value& data = v.get("data");
    if (data.isBytes()) return ContentPart::imageBytes(data.asBytes().data, v.getString("media_type", "image/png"));
    if (data.isString()) {
      // A string `data` is base64 (what a script gets from crypto.base64_encode).
      std::string raw;
      if (!base64Decode(data.asString(), raw)) {
        fail(codes::kInvalidArgument, "image part " + std::to_string(i + 1) + ": `data` is not base64");
      }
      return ContentPart::imageBytes(std::move(raw), v.getString("media_type", "image/png"));
    }
    fail(codes::kInvalidArgument, "image part " + std::to_string(i + 1) + " needs `url` or `data`");
  }
  if (type == "reasoning") {
    ContentPart p;
    p.kind = ContentPart::Kind::kReasoning;
    p.text = v.getString("text");
    p.signature = v.getString("signature");
    return p;
  }
  if (type == "tool_call") return ContentPart::toolCallPart(toolCallFromValue(v));
  if (type == "tool_result") {
    return ContentPart::toolResult(v.getString("tool_call_id"), v.getString("name"),
                                   contentAsText(v.get("content")), v.getBool("is_error"));
  }
  fail(codes::kInvalidArgument, "unknown content part type \"" + type +
                                    "\" (expected text, image, reasoning, tool_call, tool_result)");
}

int64_t intField(const Value& v, std::string_view k) {
  const Value& x = v.get(k);
  if (x.isInt()) return x.asInt();
  // Out of int64's range (or NaN) there is no integer value; the conversion would be undefined.
  double d = x.isNumber() ? x.asNumber() : 0;
  return d >= -9.2e18 && d <= 9.2e18 ? static_cast<int64_t>(d) : 0;
}

}  // namespace

Value toValue(const Message& m) {
  Value v = Value::object({{"role", std::string(roleName(m.role))}});
  auto& o = v.asObject();
  if (m.role == Role::kTool) {
    for (const auto& p : m.parts) {
      if (p.kind != ContentPart::Kind::kToolResult) continue;
      o.set("tool_call_id", p.toolCallId);
      if (!p.toolName.empty()) o.set("name", p.toolName);
      o.set("content", p.text);
      if (p.isError) o.set("is_error", true);
      break;
    }
    return v;
  }
  bool simple = true;
  std::string reasoning;
  for (const auto& p : m.parts) {
    if (p.kind == ContentPart::Kind::kImage) simple = false;
    if (p.kind == ContentPart::Kind::kReasoning) {
      reasoning += p.text;
      if (!p.signature.empty()) simple = false;
    }
  }
  if (simple) {
    o.set("content", m.text());
    if (!reasoning.empty()) o.set("reasoning", reasoning);
  } else {
    auto parts = Value::array();
    for (const auto& p : m.parts) {
      if (p.kind != ContentPart::Kind::kToolCall) parts.asArray().push(partToValue(p));
    }
    o.set("content", parts);
  }
  auto calls = m.toolCalls();
  if (!calls.empty()) {
    auto arr = Value::array();
    for (const auto& c : calls) arr.asArray().push(toValue(c));
    o.set("tool_calls", arr);
  }
  return v;
}

Message messageFromValue(const Value& v) {
  if (v.isString()) return Message::user(v.asString());
  if (!v.isObject()) {
    fail(codes::kInvalidArgument, "a message must be a table {role=..., content=...}, got " + v.describe());
  }
  Message m;
  m.role = parseRole(v.getString("role", "user"));
  const Value& content = v.get("content");
  if (m.role == Role::kTool) {
    std::string id = v.getString("tool_call_id");
    if (id.empty()) id = v.getString("id");
    m.parts.push_back(ContentPart::toolResult(id, v.getString("name"), contentAsText(content),
                                              v.getBool("is_error")));
    return m;
  }
  if (content.isString()) {
    if (!v.getString("reasoning").empty()) {
      ContentPart r;
      r.kind = ContentPart::Kind::kReasoning;
      r.text = v.getString("reasoning");
      m.parts.push_back(std::move(r));
    }
    if (!content.asString().empty() || !v.get("tool_calls").isArray()) {
      m.parts.push_back(ContentPart::textPart(content.asString()));
    }
  } else if (content.isArray()) {
    size_t i = 0;
    for (const auto& p : content.asArray()) m.parts.push_back(partFromValue(p, i++));
  } else if (!content.isNull()) {
    fail(codes::kInvalidArgument, "message content must be a string or a list of parts, got " +
                                      content.describe());
  }
  const Value& images = v.get("images");
  if (images.isArray()) {
    size_t i = 0;
    for (const auto& img : images.asArray()) {
      ContentPart p = img.isString() ? ContentPart::imageUrl(img.asString()) : partFromValue(img, i);
      p.kind = ContentPart::Kind::kImage;
      m.parts.push_back(std::move(p));
      ++i;
    }
  }
  const Value& calls = v.get("tool_calls");
  if (calls.isArray()) {
    if (m.role != Role::kAssistant) {
      fail(codes::kInvalidArgument, "only assistant messages can carry tool_calls");
    }
    for (const auto& c : calls.asArray()) m.parts.push_back(ContentPart::toolCallPart(toolCallFromValue(c)));
  }
  return m;
}

std::vector<Message> messagesFromValue(const Value& pm) {
  std::vector<Message> out;
  if (pm.isString()) {
    out.push_back(Message::user(pm.asString()));
  } else if (pm.isArray()) {
    for (const auto& m : pm.asArray()) out.push_back(messageFromValue(m));
  } else if (pm.isObject() && pm.get("role").isString()) {
    out.push_back(messageFromValue(pm));
  } else {
    fail(codes::kInvalidArgument,
         "expected a prompt string or a list of messages, got " + pm.describe());
  }
  if (out.empty()) fail(codes::kInvalidArgument, "the message list is empty");
  return out;
}

Value toValue(const ToolCall& c) {
  Value v = Value::object({{"id", c.id}, {"name", c.name}, {"arguments", c.arguments}});
  if (!c.signature.empty()) v.asObject().set("signature", c.signature);
  if (!c.argumentsError.empty()) {
    v.asObject().set("arguments_error", c.argumentsError);
    v.asObject().set("raw_arguments", c.rawArguments);
  }
  return v;
}

ToolCall toolCallFromValue(const Value& v) {
  if (!v.isObject()) fail(codes::kInvalidArgument, "a tool call must be a table {id, name, arguments}");
  ToolCall c;
  c.id = v.getString("id");
  c.name = v.getString("name");
  if (c.name.empty()) fail(codes::kInvalidArgument, "a tool call needs a `name`");
  const Value& a = v.get("arguments");
  if (a.isString()) {
    c.rawArguments = a.asString();
    c.arguments = parseToolArguments(a.asString(), &c.argumentsError);
  } else if (a.isObject()) {
    c.arguments = a;
  } else if (a.isArray() && a.asArray().empty()) {
    c.arguments = Value::object();  // an empty Lua table converts to an empty array
  } else if (!a.isNull()) {
    fail(codes::kInvalidArgument, "tool call arguments must be a table, got " + a.describe());
  }
  c.signature = v.getString("signature");
  return c;
}

Value toValue(const ToolSpec& t) {
  return Value::object({{"name", t.name}, {"description", t.description}, {"parameters", t.parameters}});
}

ToolSpec toolSpecFromValue(const Value& v) {
  if (!v.isObject()) fail(codes::kInvalidArgument, "a tool must be a table {name, description, parameters}");
  ToolSpec t;
  // Accept the OpenAI wire shape too: {type="function", function={...}}.
  const Value& fn = v.get("function");
  const Value& src = fn.isObject() ? fn : v;
  t.name = src.getString("name");
  if (t.name.empty()) fail(codes::kInvalidArgument, "a tool needs a `name`");
  t.description = src.getString("description");
  t.parameters = src.get("parameters");
  if (t.parameters.isNull()) t.parameters = src.get("input_schema");
  if (t.parameters.isNull()) t.parameters = Value::object({{"type", "object"}, {"properties", Value::object()}});
  if (!t.parameters.isObject()) {
    fail(codes::kInvalidArgument, "tool `" + t.name + "`: parameters must be a JSON Schema table");
  }
  return t;
}

Value toValue(const Usage& u) {
  return Value::object({{"input_tokens", u.inputTokens},
                        {"output_tokens", u.outputTokens},
                        {"total_tokens", u.totalTokens},
                        {"cached_tokens", u.cachedTokens},
                        {"reasoning_tokens", u.reasoningTokens}});
}

Usage usageFromValue(const Value& v) {
  Usage u;
  if (!v.isObject()) return u;
  u.present = true;
  u.inputTokens = intField(v, "input_tokens");
  u.outputTokens = intField(v, "output_tokens");
  u.totalTokens = intField(v, "total_tokens");
  if (u.totalTokens == 0) u.totalTokens = u.inputTokens + u.outputTokens;
  u.cachedTokens = intField(v, "cached_tokens");
  u.reasoningTokens = intField(v, "reasoning_tokens");
  return u;
}

Value toValue(const ChatResponse& r) {
  auto calls = Value::array();
  for (const auto& c : r.toolCalls) calls.asArray().push(toValue(c));
  Value v = Value::object({{"text", r.text},
                           {"reasoning", r.reasoning.empty() ? Value() : Value(r.reasoning)},
                           {"message", toValue(r.message)},
                           {"tool_calls", calls},
                           {"finish_reason", std::string(finishReasonName(r.finishReason))},
                           {"raw_finish_reason", r.rawFinishReason},
                           {"usage", r.usage.present ? toValue(r.usage) : Value()},
                           {"model", r.model},
                           {"raw_model", r.rawModel.empty() ? r.model : r.rawModel},
                           {"provider", r.provider},
                           {"latency_ms", r.latencyMs}});
  if (!r.refusal.empty()) v.asObject().set("refusal", r.refusal);
  if (r.raw.isObject()) v.asObject().set("raw", r.raw);
  return v;
}

ChatResponse chatResponseFromValue(const Value& v) {
  ChatResponse r;
  r.text = v.getString("text");
  r.reasoning = v.getString("reasoning");
  const Value& calls = v.get("tool_calls");
  if (calls.isArray()) {
    for (const auto& c : calls.asArray()) r.toolCalls.push_back(toolCallFromValue(c));
  }
  r.finishReason = parseFinishReason(v.getString("finish_reason", "stop"));
  r.rawFinishReason = v.getString("raw_finish_reason");
  r.usage = usageFromValue(v.get("usage"));
  r.model = v.getString("model");
  r.rawModel = v.getString("raw_model");
  r.provider = v.getString("provider");
  r.refusal = v.getString("refusal");
  if (v.get("raw").isObject()) r.raw = v.get("raw");
  r.latencyMs = v.getInt("latency_ms");
  if (v.get("message").isObject()) {
    r.message = messageFromValue(v.get("message"));
  } else {
    r.message.role = Role::kAssistant;
    if (!r.text.empty()) r.message.parts.push_back(ContentPart::textPart(r.text));
    for (const auto& c : r.toolCalls) r.message.parts.push_back(ContentPart::toolCallPart(c));
  }
  return r;
}

Value toValue(const StreamChunk& c) {
  Value v = Value::object({{"text", c.text}});
  if (!c.reasoning.empty()) v.asObject().set("reasoning", c.reasoning);
  if (c.toolCall) {
    v.asObject().set("tool_call_delta", Value::object({{"index", c.toolCall->index},
                                                       {"id", c.toolCall->id},
                                                       {"name", c.toolCall->name},
                                                       {"arguments", c.toolCall->argumentsDelta}}));
  }
  if (!c.refusal.empty()) v.asObject().set("refusal", c.refusal);
  if (c.serverTool) {
    v.asObject().set("server_tool_delta", Value::object({{"index", c.serverTool->index},
                                                         {"id", c.serverTool->id},
                                                         {"name", c.serverTool->name},
                                                         {"arguments", c.serverTool->argumentsDelta}}));
  }
  return v;
}

StreamChunk streamChunkFromValue(const Value& v) {
  StreamChunk c;
  c.text = v.getString("text");
  c.reasoning = v.getString("reasoning");
  c.refusal = v.getString("refusal");
  const Value& d = v.get("tool_call_delta");
  if (d.isObject()) c.toolCall = ToolCallDelta{d.getInt("index"), d.getString("id"), d.getString("name"), d.getString("arguments")};
  const Value& s = v.get("server_tool_delta");
  if (s.isObject()) c.serverTool = ServerToolDelta{s.getInt("index"), s.getString("id"), s.getString("name"), s.getString("arguments")};
  return c;
}

std::optional<Value> extractJson(const std::string& text) {
  auto tryParse = [](std::string_view s) -> std::optional<Value> {
    try {
      return parseJson(s);
    } catch (const Exception&) {
      return std::nullopt;
    }
  };
  auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return std::nullopt;
  if (auto v = tryParse(text)) return v;
  auto fence = text.find("```");
  if (fence != std::string::npos) {
    auto nl = text.find('\n', fence);
    auto end = nl == std::string::npos ? std::string::npos : text.find("```", nl);
    if (end != std::string::npos) {
      if (auto v = tryParse(std::string_view(text).substr(nl + 1, end - nl - 1))) return v;
    }
  }
  for (size_t i = 0; i < text.size(); ++i) {
    char open = text[i];
    if (open != '{' && open != '[') continue;
    char close = open == '{' ? '}' : ']';
    int depth = 0;
    bool inStr = false, esc = false;
    for (size_t j = i; j < text.size(); ++j) {
      char c = text[j];
      if (inStr) {
        if (esc) esc = false;
        else if (c == '\\') esc = true;
        else if (c == '"') inStr = false;
        continue;
      }
      if (c == '"') inStr = true;
      else if (c == open) ++depth;
      else if (c == close && --depth == 0) {
        if (auto v = tryParse(std::string_view(text).substr(i, j - i + 1))) return v;
        break;
      }
    }
  }
  return std::nullopt;
}

}  // namespace llmspell::llm
