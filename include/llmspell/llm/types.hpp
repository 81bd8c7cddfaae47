// The provider-neutral chat vocabulary: messages with content parts, tools, requests, responses,
// stream chunks, usage; and their script shapes (Values, as in API.md's llm.chat result).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmspell/core/value.hpp"

namespace llmspell::llm {

enum class Role { kSystem, kUser, kAssistant, kTool };
std::string_view roleName(Role r);
// Throws Exception(invalid_argument) on an unknown role name.
Role parseRole(std::string_view s);

// A tool call made by the model. `arguments` is always the parsed object ({} when the model sent
// nothing); `rawArguments` keeps the text as received when the provider sends a string (it may be
// invalid JSON after a `length` stop: then `arguments` is {} and `argumentsError` says why).
struct ToolCall {
  std::string id;
  std::string name;
  Value arguments = Value::object();
  std::string rawArguments;
  std::string argumentsError;
  std::string signature;  // Gemini thoughtSignature carried on the functionCall part; echoed back
};

struct ContentPart {
  enum class Kind { kText, kImage, kToolCall, kToolResult, kReasoning };
  Kind kind = Kind::kText;
  std::string text;       // kText; kReasoning (the thinking text); kToolResult (result content)
  // kImage: either a URL (http(s):// or data:) or raw bytes with a media type.
  std::string url;
  std::string mediaType;  // "image/png"
  std::string data;       // raw bytes (not base64)
  ToolCall call;          // kToolCall
  std::string toolCallId; // kToolResult: the call it answers
  std::string toolName;   // kToolResult: the tool's name (Gemini, Ollama link results by name)
  bool isError = false;   // kToolResult: the tool failed
  std::string signature;  // kReasoning: Anthropic thinking signature / Gemini thoughtSignature

  static ContentPart textPart(std::string t);
  static ContentPart imageUrl(std::string url);
  static ContentPart imageBytes(std::string bytes, std::string mediaType);
  static ContentPart toolCallPart(ToolCall c);
  static ContentPart toolResult(std::string callId, std::string name, std::string content,
                                bool isError = false);
};

struct Message {
  Role role = Role::kUser;
  std::vector<ContentPart> parts;

  static Message system(std::string text);
  static Message user(std::string text);
  static Message assistant(std::string text);
  static Message tool(std::string callId, std::string name, std::string content, bool isError = false);

  std::string text() const;  // concatenation of the text parts
  std::vector<ToolCall> toolCalls() const;
  bool hasToolCalls() const;
};

struct ToolSpec {
  std::string name;
  std::string description;
  Value parameters;  // JSON Schema object; null means "no parameters" ({"type":"object"})
};

// "auto" (default when tools are given), "none", "required" (must call some tool), or "tool"
// with `name` (must call that tool). Empty mode = provider default.
struct ToolChoice {
  std::string mode;
  std::string name;
};

struct ChatRequest {
  std::string model;  // the provider's model id (no "provider/" prefix)
  std::vector<Message> messages;
  std::optional<double> temperature;
  std::optional<double> topP;
  std::optional<int64_t> maxTokens;
  std::vector<std::string> stop;
  std::optional<int64_t> seed;
  std::vector<ToolSpec> tools;
  ToolChoice toolChoice;
  std::optional<bool> parallelToolCalls;
  Value responseSchema;          // JSON Schema for structured output (null = none)
  std::string responseSchemaName = "response";
  bool jsonMode = false;         // JSON output without a schema
  bool stream = false;
  Value extra;                   // provider-specific fields merged into the request body (object)
};

enum class FinishReason { kStop, kLength, kToolCalls, kContentFilter, kError, kOther };
std::string_view finishReasonName(FinishReason f);
FinishReason parseFinishReason(std::string_view s);  // unknown -> kOther

// `present` is false when the provider reported no usage at all: scripts then see usage = nil
// (and cost_usd = nil), never a made-up 0/0.
struct Usage {
  int64_t inputTokens = 0;
  int64_t outputTokens = 0;
  int64_t totalTokens = 0;
  int64_t cachedTokens = 0;
  int64_t reasoningTokens = 0;
  bool present = false;  // the provider reported usage at all
};

struct ChatResponse {
  std::string text;
  std::string reasoning;
  std::vector<ToolCall> toolCalls;
  FinishReason finishReason = FinishReason::kStop;
  std::string rawFinishReason;
  Usage usage;
  // The name the spell would pass back ("openai/gpt-4o-mini"); `rawModel` is the provider's
  // own id as it reported it ("gpt-4o-mini-2024-07-18"), or the requested id when it sent none.
  std::string model;
  std::string rawModel;
  std::string provider;  // "openai", ...
  // The model declined (OpenAI's `refusal`): the refusal text; `text` holds it too when the
  // model wrote nothing else, and finish_reason is content_filter.
  std::string refusal;
  int64_t latencyMs = 0;
  // The assistant message to append to the conversation: text, reasoning (with signatures) and
  // tool calls exactly as the provider needs them echoed back.
  Message message;
  Value raw;  // provider-specific extras worth keeping (e.g. Gemini promptFeedback), or null
};

struct ToolCallDelta {
  int64_t index = 0;
  std::string id;
  std::string name;
  std::string argumentsDelta;
};

// A server-side tool the provider runs itself (Anthropic `server_tool_use`, e.g. web search):
// not a call for the client to answer, so never a tool_call_delta.
struct ServerToolDelta {
  int64_t index = 0;  // the content block's index
  std::string id;
  std::string name;
  std::string argumentsDelta;
};

struct StreamChunk {
  std::string text;
  std::string reasoning;
  std::optional<ToolCallDelta> toolCall;
  std::string refusal;  // a refusal delta (OpenAI)
  std::optional<ServerToolDelta> serverTool;
};

// ---- Reassembly of streamed tool calls (keyed by index, never by id) ----
class ToolCallAssembler {
 public:
  // Applies one fragment: id/name are assigned when present, arguments appended.
  void apply(const ToolCallDelta& d);
  // Adds a complete call (providers that send calls whole); takes the next free index.
  void addWhole(ToolCall c);
  bool empty() const { return slots_.empty(); }
  // The calls in index order with arguments parsed ("" -> {}; invalid JSON -> {} + error).
  std::vector<ToolCall> finish() const;

 private:
  struct Slot {
    int64_t index;
    ToolCall call;
    bool whole = false;
  };
  std::vector<Slot> slots_;
};

// Parses tool-call argument text: "" -> {}, a JSON object -> it, anything else -> {} with
// `error` set.
Value parseToolArguments(std::string_view text, std::string* error);

// ---- Script shapes ----
// Messages: {role, content = "text" | {{type="text", text}, {type="image", url | data, media_type},
// ...}, tool_calls = {{id, name, arguments}}, tool_call_id, name, reasoning}.
Value toValue(const Message& m);
Message messageFromValue(const Value& v);  // throws invalid_argument naming the bad field
// A prompt string becomes one user message; an array of message tables is converted.
std::vector<Message> messagesFromValue(const Value& promptOrMessages);
Value toValue(const ToolCall& c);           // {id, name, arguments}
ToolCall toolCallFromValue(const Value& v);
Value toValue(const ToolSpec& t);           // {name, description, parameters}
ToolSpec toolSpecFromValue(const Value& v);
Value toValue(const Usage& u);              // {input_tokens, output_tokens, total_tokens, ...}
Usage usageFromValue(const Value& v);
// {text, reasoning, message, tool_calls, finish_reason, raw_finish_reason, usage (nil when the
//  provider reported none), model, raw_model, provider, latency_ms, refusal (when refused),
//  raw (provider extras: Gemini prompt_feedback, Anthropic server tool blocks, when any)}
// (cost_usd is added by the caller that knows prices).
Value toValue(const ChatResponse& r);
ChatResponse chatResponseFromValue(const Value& v);
// {text, reasoning, tool_call_delta={index,id,name,arguments}, refusal,
//  server_tool_delta={index,id,name,arguments}}
Value toValue(const StreamChunk& c);
StreamChunk streamChunkFromValue(const Value& v);

// Extracts a JSON value from a model's text: the whole text, a ```json fenced block, or the
// first balanced {...} / [...] span that parses. Empty when there is none.
std::optional<Value> extractJson(const std::string& text);

}  // namespace llmspell::llm
