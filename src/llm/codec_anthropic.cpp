// Anthropic Messages codec: top-level system, content blocks, tool_use / tool_result, thinking
// blocks echoed with their signatures, event-typed SSE stream.
#include <map>

#include "llm/codecs.hpp"
#include "llm/simd_util.hpp"
#include "llmspell/core/error.hpp"

namespace llmspell::llm {

namespace {

ojson imageBlock(const ContentPart& p) {
  std::string mt = p.mediaType, bytes;
  if (!p.url.empty()) {
    if (parseDataUrl(p.url, mt, bytes)) {
      return {{"type", "image"},
              {"source", {{"type", "base64"}, {"media_type", mt}, {"data", base64Encode(bytes)}}}};
    }
    return {{"type", "image"}, {"source", {{"type", "url"}, {"url", p.url}}}};
  }
  return {{"type", "image"},
          {"source", {{"type", "base64"},
                      {"media_type", mt.empty() ? std::string("image/png") : mt},
                      {"data", base64Encode(p.data)}}}};
}

ojson blocksOf(const Message& m) {
  ojson blocks = ojson::array();
  for (const auto& p : m.parts) {
    switch (p.kind) {
      case ContentPart::Kind::kText:
        if (!p.text.empty()) blocks.push_back({{"type", "text"}, {"text", p.text}});
        break;
      case ContentPart::Kind::kImage: blocks.push_back(imageBlock(p)); break;
      case ContentPart::Kind::kReasoning:
        // Thinking blocks only make sense echoed back with their signature.
        if (m.role == Role::kAssistant && !p.signature.empty()) {
          blocks.push_back({{"type", "thinking"}, {"thinking", p.text}, {"signature", p.signature}});
        }
        break;
      case ContentPart::Kind::kToolCall:
        blocks.push_back({{"type", "tool_use"},
                          {"id", p.call.id},
                          {"name", p.call.name},
                          {"input", toOjson(p.call.arguments.isNull() ? Value::object() : p.call.arguments)}});
        break;
      case ContentPart::Kind::kToolResult: {
        ojson b = {{"type", "tool_result"}, {"tool_use_id", p.toolCallId}, {"content", p.text}};
        if (p.isError) b["is_error"] = true;
        blocks.push_back(b);
        break;
      }
    }
  }
  return blocks;
}

FinishReason mapStop(std::string_view s) {
  if (s == "end_turn" || s == "stop_sequence") return FinishReason::kStop;
  if (s == "max_tokens" || s == "model_context_window_exceeded") return FinishReason::kLength;
  if (s == "tool_use") return FinishReason::kToolCalls;
  if (s == "refusal") return FinishReason::kContentFilter;
  return FinishReason::kOther;
}

void readUsage(const ojson& u, Usage& out, bool assignOnlyPresent) {
  if (!u.is_object()) return;
  out.present = true;
  auto has = [&](const char* k) { return field(u, k) != nullptr; };
  if (!assignOnlyPresent || has("input_tokens") || has("cache_read_input_tokens") ||
      has("cache_creation_input_tokens")) {
    int64_t in = num(u, "input_tokens"), cr = num(u, "cache_read_input_tokens"),
            cc = num(u, "cache_creation_input_tokens");
    if (!assignOnlyPresent || has("input_tokens")) out.inputTokens = in + cr + cc;
    if (!assignOnlyPresent || has("cache_read_input_tokens")) out.cachedTokens = cr;
  }
  if (!assignOnlyPresent || has("output_tokens")) out.outputTokens = num(u, "output_tokens");
  out.totalTokens = out.inputTokens + out.outputTokens;
}

// Builds text / reasoning / tool calls / message from decoded blocks (in block order).
struct Block {
  std::string type;
  std::string text;       // text or thinking
  std::string signature;  // thinking
  std::string id, name;   // tool_use
  std::string json;       // tool_use input being streamed
  Value input;            // tool_use input when whole
  Value block;            // a server tool's block (server_tool_use, web_search_tool_result...) as sent
  bool whole = false;
};

// Blocks of tools the provider runs itself: `server_tool_use` / `mcp_tool_use` and their
// `*_tool_result` blocks. They are not calls for the client to answer.
bool isServerToolBlock(std::string_view type) {
  auto ends = [&](std::string_view suffix) {
    return type.size() > suffix.size() && type.substr(type.size() - suffix.size()) == suffix;
  };
  return type != "tool_use" && type != "tool_result" && (ends("_tool_use") || ends("_tool_result"));
}

void assemble(const std::map<int64_t, Block>& blocks, ChatResponse& r) {
  r.message.role = Role::kAssistant;
  r.message.parts.clear();
  for (const auto& [i, b] : blocks) {
    if (b.type == "text") {
      r.text += b.text;
      r.message.parts.push_back(ContentPart::textPart(b.text));
    } else if (b.type == "thinking") {
      r.reasoning += b.text;
      ContentPart p;
      p.kind = ContentPart::Kind::kReasoning;
      p.text = b.text;
      p.signature = b.signature;
      r.message.parts.push_back(std::move(p));
    } else if (b.type == "tool_use") {
      ToolCall c;
      c.id = b.id;
      c.name = b.name;
      if (b.whole) {
        c.arguments = b.input.isObject() ? b.input : Value::object();
      } else {
        c.rawArguments = b.json;
        c.arguments = parseToolArguments(b.json, &c.argumentsError);
      }
      r.toolCalls.push_back(c);
      r.message.parts.push_back(ContentPart::toolCallPart(std::move(c)));
    } else if (isServerToolBlock(b.type)) {
      // Kept for the script (r.raw.server_blocks), never as a tool call.
      Value block = b.block.isObject() ? b.block.deepCopy() : Value::object({{"type", b.type}});
      if (b.type.size() > 9 && b.type.substr(b.type.size() - 9) == "_tool_use" && !b.whole) {
        std::string err;
        block.asObject().set("input", parseToolArguments(b.json, &err));
      }
      if (!r.raw.isObject()) r.raw = Value::object();
      if (!r.raw.get("server_blocks").isArray()) r.raw.asObject().set("server_blocks", Value::array());
      r.raw.asObject()["server_blocks"].asArray().push(std::move(block));
    }
  }
  r.provider = "anthropic";
}

class AnthropicStream : public StreamDecoder {
 public:
  explicit AnthropicStream(bool fast) : fast_(fast) {}

  void feed(std::string_view event, std::string_view data, std::vector<StreamChunk>& out) override {
    if (done_) return;
    if (fast_ && feedFast(event, data, out)) return;
    ojson j = parseOjson(data, "anthropic stream event");
    std::string type = str(j, "type");
    if (type.empty()) type = std::string(event);
    if (type == "error") {
      if (auto e = inBandError("anthropic", data)) throw Exception(*e);
      fail(codes::kProviderError, "anthropic reported an error in the stream");
    }
    if (type == "message_start") {
      if (const ojson* m = field(j, "message")) {
        resp_.model = str(*m, "model");
        if (const ojson* u = field(*m, "usage")) readUsage(*u, resp_.usage, false);
      }
    } else if (type == "content_block_start") {
      int64_t i = num(j, "index");
      Block b;
      if (const ojson* cb = field(j, "content_block")) {
        b.type = str(*cb, "type");
        b.text = b.type == "thinking" ? str(*cb, "thinking") : str(*cb, "text");
        b.id = str(*cb, "id");
        b.name = str(*cb, "name");
        if (isServerToolBlock(b.type)) b.block = fromOjson(*cb);
      }
      if (b.type == "tool_use") {
        int64_t ordinal = static_cast<int64_t>(toolOrdinal_.size());
        toolOrdinal_[i] = ordinal;
        StreamChunk c;
        c.toolCall = ToolCallDelta{ordinal, b.id, b.name, ""};
        out.push_back(std::move(c));
      } else if (isServerToolBlock(b.type)) {
        if (b.type.size() > 9 && b.type.substr(b.type.size() - 9) == "_tool_use") {
          StreamChunk c;
          c.serverTool = ServerToolDelta{i, b.id, b.name, ""};
          out.push_back(std::move(c));
        }
      } else if (!b.text.empty()) {
        StreamChunk c;
        (b.type == "thinking" ? c.reasoning : c.text) = b.text;
        out.push_back(std::move(c));
      }
      blocks_[i] = std::move(b);
    } else if (type == "content_block_delta") {
      int64_t i = num(j, "index");
      Block& b = blocks_[i];
      const ojson* d = field(j, "delta");
      if (!d) return;
      std::string dt = str(*d, "type");
      StreamChunk c;
      if (dt == "text_delta") {
        b.text += str(*d, "text");
        c.text = str(*d, "text");
      } else if (dt == "thinking_delta") {
        b.text += str(*d, "thinking");
        c.reasoning = str(*d, "thinking");
      } else if (dt == "signature_delta") {
        b.signature = str(*d, "signature");
        return;
      } else if (dt == "input_json_delta") {
        b.json += str(*d, "partial_json");
        if (str(*d, "partial_json").empty()) return;
        // Only a client tool_use block is a tool call; a server tool's input goes to its own
        // chunk kind (a tool_call_delta would collide with a real call at ordinal 0).
        if (auto t = toolOrdinal_.find(i); t != toolOrdinal_.end()) {
          c.toolCall = ToolCallDelta{t->second, "", "", str(*d, "partial_json")};
        } else if (isServerToolBlock(b.type)) {
          c.serverTool = ServerToolDelta{i, "", "", str(*d, "partial_json")};
        } else {
          return;
        }
      } else {
        return;  // citations and future delta types
      }
      out.push_back(std::move(c));
    } else if (type == "message_delta") {
      if (const ojson* d = field(j, "delta")) {
        if (!str(*d, "stop_reason").empty()) resp_.rawFinishReason = str(*d, "stop_reason");
      }
      if (const ojson* u = field(j, "usage")) readUsage(*u, resp_.usage, true);  // cumulative
    } else if (type == "message_stop") {
      done_ = true;
    }
    // ping, content_block_stop and unknown events need nothing.
  }

  bool finished() const override { return done_; }

  // The common events (text, thinking, signature and tool-input deltas, and the start of a
  // text, thinking or tool_use block) read from simdjson's DOM without building nlohmann values.
  // Any other event returns false having changed nothing, and feed()'s general path handles it;
  // both mean the same (the codec test feeds both the same random events).
  bool feedFast(std::string_view event, std::string_view data, std::vector<StreamChunk>& out) {
    simdjson::dom::object root;
    if (!simdParseObject(data, root)) return false;
    std::string_view type;
    int64_t index = 0;
    simdjson::dom::element delta, block;
    bool haveDelta = false, haveBlock = false;
    for (auto f : root) {  // duplicate keys: the last one counts, as in the general path
      if (f.key == "type") type = simdStr(f.value);
      else if (f.key == "index") index = simdNum(f.value);
      else if (f.key == "delta") delta = f.value, haveDelta = !f.value.is_null();
      else if (f.key == "content_block") block = f.value, haveBlock = !f.value.is_null();
    }
    if (type.empty()) type = event;
    if (type == "content_block_start") return startFast(index, haveBlock, block, out);
    simdjson::dom::object d;
    if (type != "content_block_delta" || !haveDelta || delta.get_object().get(d) != simdjson::SUCCESS)
      return false;
    std::string_view dt, text, thinking, signature, partial;
    for (auto f : d) {
      if (f.key == "type") dt = simdStr(f.value);
      else if (f.key == "text") text = simdStr(f.value);
      else if (f.key == "thinking") thinking = simdStr(f.value);
      else if (f.key == "signature") signature = simdStr(f.value);
      else if (f.key == "partial_json") partial = simdStr(f.value);
    }
    if (dt == "signature_delta") {
      blocks_[index].signature = signature;
      return true;
    }
    if (dt == "input_json_delta") {
      Block& b = blocks_[index];
      b.json += partial;
      if (partial.empty()) return true;
      if (auto t = toolOrdinal_.find(index); t != toolOrdinal_.end()) {
        out.emplace_back().toolCall = ToolCallDelta{t->second, "", "", std::string(partial)};
      } else if (isServerToolBlock(b.type)) {
        out.emplace_back().serverTool = ServerToolDelta{index, "", "", std::string(partial)};
      }
      return true;
    }
    if (dt != "text_delta" && dt != "thinking_delta") return false;
    Block& b = blocks_[index];
    StreamChunk& c = out.emplace_back();
    if (dt == "text_delta") {
      b.text += text;
      c.text = text;
    } else {
      b.text += thinking;
      c.reasoning = thinking;
    }
    return true;
  }

  // content_block_start of a client block (text, thinking, tool_use, others); a server tool's
  // block is kept whole as a Value, which the general path builds.
  bool startFast(int64_t index, bool haveBlock, simdjson::dom::element block, std::vector<StreamChunk>& out) {
    Block b;
    if (haveBlock) {
      std::string_view type = simdStrField(block, "type");
      if (isServerToolBlock(type)) return false;
      b.type = type;
      b.text = simdStrField(block, type == "thinking" ? "thinking" : "text");
      b.id = simdStrField(block, "id");
      b.name = simdStrField(block, "name");
    }
    if (b.type == "tool_use") {
      int64_t ordinal = static_cast<int64_t>(toolOrdinal_.size());
      toolOrdinal_[index] = ordinal;
      out.emplace_back().toolCall = ToolCallDelta{ordinal, b.id, b.name, ""};
    } else if (!b.text.empty()) {
      StreamChunk& c = out.emplace_back();
      (b.type == "thinking" ? c.reasoning : c.text) = b.text;
    }
    blocks_[index] = std::move(b);
    return true;
  }

  ChatResponse finish() override {
    if (!done_) {
      fail(codes::kProviderError,
           "anthropic stream ended before the response was complete (no message_stop)", true);
    }
    ChatResponse r = resp_;
    assemble(blocks_, r);
    r.finishReason = mapStop(r.rawFinishReason);
    return r;
  }

 private:
  bool fast_;
  bool done_ = false;
  ChatResponse resp_;
  std::map<int64_t, Block> blocks_;
  std::map<int64_t, int64_t> toolOrdinal_;
};

}  // namespace

WireRequest AnthropicCodec::encodeChat(const ChatRequest& req, const ProviderConfig& cfg) const {
  ojson body = ojson::object();
  body["model"] = req.model;
  body["max_tokens"] = req.maxTokens ? *req.maxTokens : cfg.defaultMaxTokens;
  std::string system;
  ojson msgs = ojson::array();
  for (const auto& m : req.messages) {
    if (m.role == Role::kSystem) {
      if (!system.empty()) system += "\n\n";
      system += m.text();
      continue;
    }
    std::string role = m.role == Role::kAssistant ? "assistant" : "user";
    ojson blocks = blocksOf(m);
    // Tool results (and anything after them from the user) share one user message, results first.
    if (!msgs.empty() && msgs.back()["role"] == role && role == "user" &&
        (m.role == Role::kTool || msgs.back()["content"].is_array())) {
      ojson& prev = msgs.back()["content"];
      for (auto& b : blocks) prev.push_back(b);
      continue;
    }
    if (blocks.empty()) blocks.push_back({{"type", "text"}, {"text", ""}});
    msgs.push_back({{"role", role}, {"content", blocks}});
  }
  if (!system.empty()) body["system"] = system;
  body["messages"] = msgs;
  if (req.temperature) body["temperature"] = *req.temperature;
  if (req.topP) body["top_p"] = *req.topP;
  if (!req.stop.empty()) body["stop_sequences"] = req.stop;
  std::vector<ToolSpec> tools = req.tools;
  ToolChoice choice = req.toolChoice;
  if (!req.responseSchema.isNull()) {
    // No response_format on this API: force a tool whose input is the schema (the client turns
    // the call back into text).
    tools.push_back({req.responseSchemaName, "Record the answer in the required structure.",
                     req.responseSchema});
    choice = {"tool", req.responseSchemaName};
  }
  if (!tools.empty()) {
    ojson ts = ojson::array();
    for (const auto& t : tools) {
      ojson o = {{"name", t.name}};
      if (!t.description.empty()) o["description"] = t.description;
      o["input_schema"] = toOjson(t.parameters);
      ts.push_back(o);
    }
    body["tools"] = ts;
    ojson tc;
    if (choice.mode == "required") tc = {{"type", "any"}};
    else if (choice.mode == "none") tc = {{"type", "none"}};
    else if (choice.mode == "tool") tc = {{"type", "tool"}, {"name", choice.name}};
    else if (choice.mode == "auto" || (req.parallelToolCalls && !*req.parallelToolCalls)) tc = {{"type", "auto"}};
    if (!tc.is_null()) {
      if (req.parallelToolCalls && !*req.parallelToolCalls) tc["disable_parallel_tool_use"] = true;
      body["tool_choice"] = tc;
    }
  }
  if (req.stream) body["stream"] = true;
  mergeExtra(body, req.extra);

  WireRequest w;
  w.url = joinUrl(cfg.baseUrl.empty() ? defaultBaseUrl(kind()) : cfg.baseUrl, "/v1/messages");
  w.headers.emplace_back("content-type", "application/json");
  if (!cfg.apiKey.empty()) w.headers.emplace_back("x-api-key", cfg.apiKey);
  w.headers.emplace_back("anthropic-version", cfg.anthropicVersion);
  for (const auto& h : cfg.headers) w.headers.push_back(h);
  w.body = dumpJson(body);
  w.framing = req.stream ? Framing::kSse : Framing::kJson;
  return w;
}

ChatResponse AnthropicCodec::decodeChat(std::string_view body) const {
  if (auto e = inBandError("anthropic", body)) throw Exception(*e);
  ojson j = parseOjson(body, "anthropic response");
  ChatResponse r;
  r.model = str(j, "model");
  r.rawFinishReason = str(j, "stop_reason");
  r.finishReason = mapStop(r.rawFinishReason);
  if (const ojson* u = field(j, "usage")) readUsage(*u, r.usage, false);
  std::map<int64_t, Block> blocks;
  if (const ojson* content = field(j, "content"); content && content->is_array()) {
    int64_t i = 0;
    for (const auto& cb : *content) {
      Block b;
      b.type = str(cb, "type");
      b.text = b.type == "thinking" ? str(cb, "thinking") : str(cb, "text");
      b.signature = str(cb, "signature");
      b.id = str(cb, "id");
      b.name = str(cb, "name");
      if (const ojson* in = field(cb, "input")) b.input = fromOjson(*in);
      if (isServerToolBlock(b.type)) b.block = fromOjson(cb);
      b.whole = true;
      blocks[i++] = std::move(b);
    }
  }
  assemble(blocks, r);
  return r;
}

std::unique_ptr<StreamDecoder> anthropicStreamDecoder(bool fastPath) {
  return std::make_unique<AnthropicStream>(fastPath);
}

std::unique_ptr<StreamDecoder> AnthropicCodec::streamDecoder() const {
  return anthropicStreamDecoder(true);
}

WireRequest AnthropicCodec::encodeListModels(const ProviderConfig& cfg) const {
  WireRequest w;
  w.method = "GET";
  w.url = joinUrl(cfg.baseUrl.empty() ? defaultBaseUrl(kind()) : cfg.baseUrl, "/v1/models?limit=100");
  if (!cfg.apiKey.empty()) w.headers.emplace_back("x-api-key", cfg.apiKey);
  w.headers.emplace_back("anthropic-version", cfg.anthropicVersion);
  return w;
}

Value AnthropicCodec::decodeListModels(std::string_view body) const {
  ojson j = parseOjson(body, "anthropic model list");
  Value out = Value::array();
  if (const ojson* data = field(j, "data"); data && data->is_array()) {
    for (const auto& m : *data) {
      Value v = Value::object({{"id", str(m, "id")}});
      if (!str(m, "display_name").empty()) v.asObject().set("display_name", str(m, "display_name"));
      out.asArray().push(v);
    }
  }
  return out;
}

}  // namespace llmspell::llm
