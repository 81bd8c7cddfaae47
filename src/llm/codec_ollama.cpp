// Ollama native API codec: /api/chat with NDJSON streaming, options{}, format (schema), raw
// base64 images, whole tool calls with object arguments.
#include "llm/codecs.hpp"
#include "llm/simd_util.hpp"
#include "llmspell/core/error.hpp"

namespace llmspell::llm {

namespace {

ojson encodeMessage(const Message& m) {
  ojson o = ojson::object();
  o["role"] = std::string(roleName(m.role));
  if (m.role == Role::kTool) {
    for (const auto& p : m.parts) {
      if (p.kind != ContentPart::Kind::kToolResult) continue;
      o["content"] = p.text;
      if (!p.toolName.empty()) o["tool_name"] = p.toolName;
      if (!p.toolCallId.empty()) o["tool_call_id"] = p.toolCallId;
    }
    return o;
  }
  o["content"] = m.text();
  ojson images = ojson::array();
  std::string reasoning;
  for (const auto& p : m.parts) {
    if (p.kind == ContentPart::Kind::kImage) {
      std::string mt, bytes = p.data;
      if (!p.url.empty() && !parseDataUrl(p.url, mt, bytes)) {
        fail(codes::kInvalidArgument, "ollama accepts images as bytes or data: URLs, not " + p.url.substr(0, 60));
      }
      images.push_back(base64Encode(bytes));
    }
    if (p.kind == ContentPart::Kind::kReasoning) reasoning += p.text;
  }
  if (!images.empty()) o["images"] = images;
  if (!reasoning.empty() && m.role == Role::kAssistant) o["thinking"] = reasoning;
  auto calls = m.toolCalls();
  if (!calls.empty()) {
    ojson tcs = ojson::array();
    for (size_t i = 0; i < calls.size(); ++i) {
      ojson fn = {{"index", i}, {"name", calls[i].name},
                  {"arguments", toOjson(calls[i].arguments.isNull() ? Value::object() : calls[i].arguments)}};
      ojson tc = {{"type", "function"}, {"function", fn}};
      if (!calls[i].id.empty()) tc["id"] = calls[i].id;
      tcs.push_back(tc);
    }
    o["tool_calls"] = tcs;
  }
  return o;
}

class OllamaAccumulator {
 public:
  void add(const ojson& j, std::vector<StreamChunk>* out) {
    if (!str(j, "model").empty()) r_.model = str(j, "model");
    if (const ojson* m = field(j, "message")) {
      std::string t = str(*m, "content"), th = str(*m, "thinking");
      r_.text += t;
      r_.reasoning += th;
      if (out && (!t.empty() || !th.empty())) {
        StreamChunk c;
        c.text = t;
        c.reasoning = th;
        out->push_back(std::move(c));
      }
      if (const ojson* tcs = field(*m, "tool_calls"); tcs && tcs->is_array()) {
        for (const auto& tc : *tcs) {
          ToolCall call;
          call.id = str(tc, "id");
          if (call.id.empty()) call.id = "ollama_call_" + std::to_string(r_.toolCalls.size());
          if (const ojson* fn = field(tc, "function")) {
            call.name = str(*fn, "name");
            if (const ojson* a = field(*fn, "arguments")) {
              if (a->is_object()) call.arguments = fromOjson(*a);
              else if (a->is_string()) call.arguments = parseToolArguments(a->get<std::string>(), &call.argumentsError);
            }
          }
          if (out) {
            StreamChunk c;
            c.toolCall = ToolCallDelta{static_cast<int64_t>(r_.toolCalls.size()), call.id, call.name,
                                       toOjson(call.arguments).dump()};
            out->push_back(std::move(c));
          }
          r_.toolCalls.push_back(std::move(call));
        }
      }
    }
    if (const ojson* d = field(j, "done"); d && d->is_boolean() && d->get<bool>()) {
      done_ = true;
      r_.rawFinishReason = str(j, "done_reason");
      r_.usage.present = field(j, "eval_count") || field(j, "prompt_eval_count");
      r_.usage.inputTokens = num(j, "prompt_eval_count");  // omitted when zero
      r_.usage.outputTokens = num(j, "eval_count");
      r_.usage.totalTokens = r_.usage.inputTokens + r_.usage.outputTokens;
    }
  }
  // add() for every line but an error (text, thinking, tool calls, the done line) read from
  // simdjson's DOM without building nlohmann values. An error returns false
  // having changed nothing; both mean the same (the codec test feeds both the same lines).
  bool addFast(simdjson::dom::object root, std::vector<StreamChunk>* out) {
    std::string_view model, doneReason;
    simdjson::dom::element message, promptCount, evalCount;
    bool haveMessage = false, done = false, havePrompt = false, haveEval = false;
    for (auto f : root) {  // duplicate keys: the last one counts, as in add()
      if (f.key == "model") model = simdStr(f.value);
      else if (f.key == "message") message = f.value, haveMessage = !f.value.is_null();
      else if (f.key == "error") return false;
      else if (f.key == "done") done = f.value.is_bool() && bool(f.value);
      else if (f.key == "done_reason") doneReason = simdStr(f.value);
      else if (f.key == "prompt_eval_count") promptCount = f.value, havePrompt = !f.value.is_null();
      else if (f.key == "eval_count") evalCount = f.value, haveEval = !f.value.is_null();
    }
    std::string_view text, thinking;
    simdjson::dom::element calls;
    bool haveCalls = false;
    if (simdjson::dom::object m; haveMessage && message.get_object().get(m) == simdjson::SUCCESS) {
      for (auto f : m) {
        if (f.key == "content") text = simdStr(f.value);
        else if (f.key == "thinking") thinking = simdStr(f.value);
        else if (f.key == "tool_calls") calls = f.value, haveCalls = f.value.is_array();
      }
    }
    if (!model.empty() && model != r_.model) r_.model = model;
    r_.text += text;
    r_.reasoning += thinking;
    if (out && (!text.empty() || !thinking.empty())) {
      StreamChunk& c = out->emplace_back();
      c.text = text;
      c.reasoning = thinking;
    }
    if (haveCalls) {
      for (auto tc : simdjson::dom::array(calls)) addCallFast(tc, out);
    }
    if (done) {
      done_ = true;
      r_.rawFinishReason = doneReason;
      r_.usage.present = havePrompt || haveEval;
      r_.usage.inputTokens = havePrompt ? simdNum(promptCount) : 0;
      r_.usage.outputTokens = haveEval ? simdNum(evalCount) : 0;
      r_.usage.totalTokens = r_.usage.inputTokens + r_.usage.outputTokens;
    }
    return true;
  }

  // add()'s reading of one tool_calls[] entry, from the DOM (arguments become a Value directly).
  void addCallFast(simdjson::dom::element tc, std::vector<StreamChunk>* out) {
    ToolCall call;
    call.id = simdStrField(tc, "id");
    if (call.id.empty()) call.id = "ollama_call_" + std::to_string(r_.toolCalls.size());
    if (simdjson::dom::element fn; simdField(tc, "function", fn)) {
      call.name = simdStrField(fn, "name");
      if (simdjson::dom::element a; simdField(fn, "arguments", a)) {
        if (a.is_object()) call.arguments = simdToValue(a);
        else if (a.is_string()) call.arguments = parseToolArguments(simdStr(a), &call.argumentsError);
      }
    }
    if (out) {
      out->emplace_back().toolCall =
          ToolCallDelta{static_cast<int64_t>(r_.toolCalls.size()), call.id, call.name, valueJson(call.arguments)};
    }
    r_.toolCalls.push_back(std::move(call));
  }

  bool done() const { return done_; }
  ChatResponse result() const {
    ChatResponse r = r_;
    r.provider = "ollama";
    const std::string& raw = r.rawFinishReason;
    r.finishReason = raw == "length" ? FinishReason::kLength
                     : (raw == "stop" || raw.empty()) ? FinishReason::kStop
                                                      : FinishReason::kOther;
    if (!r.toolCalls.empty() && r.finishReason == FinishReason::kStop) r.finishReason = FinishReason::kToolCalls;
    r.message.role = Role::kAssistant;
    if (!r.reasoning.empty()) {
      ContentPart p;
      p.kind = ContentPart::Kind::kReasoning;
      p.text = r.reasoning;
      r.message.parts.push_back(std::move(p));
    }
    if (!r.text.empty() || r.toolCalls.empty()) r.message.parts.push_back(ContentPart::textPart(r.text));
    for (const auto& c : r.toolCalls) r.message.parts.push_back(ContentPart::toolCallPart(c));
    return r;
  }

 private:
  ChatResponse r_;
  bool done_ = false;
};

class OllamaStream : public StreamDecoder {
 public:
  explicit OllamaStream(bool fast) : fast_(fast) {}

  void feed(std::string_view, std::string_view data, std::vector<StreamChunk>& out) override {
    if (done_()) return;
    if (simdjson::dom::object root; fast_ && simdParseObject(data, root) && acc_.addFast(root, &out)) return;
    ojson j = parseOjson(data, "ollama stream line");
    if (field(j, "error")) {
      if (auto e = inBandError("ollama", data)) throw Exception(*e);
    }
    acc_.add(j, &out);
  }
  bool finished() const override { return acc_.done(); }
  ChatResponse finish() override {
    if (!acc_.done()) {
      fail(codes::kProviderError, "ollama stream ended before the response was complete (no done:true)", true);
    }
    return acc_.result();
  }

 private:
  bool done_() const { return acc_.done(); }
  bool fast_;
  OllamaAccumulator acc_;
};

std::string base(const ProviderConfig& cfg) {
  std::string b = cfg.baseUrl.empty() ? defaultBaseUrl("ollama") : cfg.baseUrl;
  if (b.find("://") == std::string::npos) b = "http://" + b;  // OLLAMA_HOST=host:port
  return b;
}

void addHeaders(WireRequest& w, const ProviderConfig& cfg) {
  w.headers.emplace_back("Content-Type", "application/json");
  if (!cfg.apiKey.empty()) w.headers.emplace_back("Authorization", "Bearer " + cfg.apiKey);
  for (const auto& h : cfg.headers) w.headers.push_back(h);
}

}  // namespace

WireRequest OllamaCodec::encodeChat(const ChatRequest& req, const ProviderConfig& cfg) const {
  ojson body = ojson::object();
  body["model"] = req.model;
  ojson msgs = ojson::array();
  for (const auto& m : req.messages) msgs.push_back(encodeMessage(m));
  body["messages"] = msgs;
  if (!req.tools.empty() && req.toolChoice.mode != "none") {
    ojson tools = ojson::array();
    for (const auto& t : req.tools) {
      tools.push_back({{"type", "function"},
                       {"function", {{"name", t.name}, {"description", t.description},
                                     {"parameters", toOjson(t.parameters)}}}});
    }
    body["tools"] = tools;
  }
  if (!req.responseSchema.isNull()) body["format"] = toOjson(req.responseSchema);
  else if (req.jsonMode) body["format"] = "json";
  ojson options = ojson::object();
  if (req.temperature) options["temperature"] = *req.temperature;
  if (req.topP) options["top_p"] = *req.topP;
  if (req.maxTokens) options["num_predict"] = *req.maxTokens;
  if (!req.stop.empty()) options["stop"] = req.stop;
  if (req.seed) options["seed"] = *req.seed;
  if (!options.empty()) body["options"] = options;
  body["stream"] = req.stream;  // Ollama streams by default: always say
  mergeExtra(body, req.extra);
  WireRequest w;
  w.url = joinUrl(base(cfg), "/api/chat");
  addHeaders(w, cfg);
  w.body = dumpJson(body);
  w.framing = req.stream ? Framing::kNdjson : Framing::kJson;
  return w;
}

ChatResponse OllamaCodec::decodeChat(std::string_view body) const {
  if (auto e = inBandError("ollama", body)) throw Exception(*e);
  OllamaAccumulator acc;
  // The reply is one line of the stream's shape: the fast reading when it applies, no tree.
  if (simdjson::dom::object root; simdParseObject(body, root) && acc.addFast(root, nullptr)) return acc.result();
  acc.add(parseOjson(body, "ollama response"), nullptr);
  return acc.result();
}

std::unique_ptr<StreamDecoder> ollamaStreamDecoder(bool fastPath) {
  return std::make_unique<OllamaStream>(fastPath);
}

std::unique_ptr<StreamDecoder> OllamaCodec::streamDecoder() const {
  return ollamaStreamDecoder(true);
}

WireRequest OllamaCodec::encodeEmbed(const std::vector<std::string>& texts, const std::string& model,
                                     const Value& opts, const ProviderConfig& cfg) const {
  ojson body = {{"model", model}, {"input", texts}};
  if (opts.get("dimensions").isNumber()) body["dimensions"] = opts.getInt("dimensions");
  WireRequest w;
  w.url = joinUrl(base(cfg), "/api/embed");
  addHeaders(w, cfg);
  w.body = dumpJson(body);
  return w;
}

std::vector<std::vector<double>> OllamaCodec::decodeEmbed(std::string_view body) const {
  if (auto e = inBandError("ollama", body)) throw Exception(*e);
  ojson j = parseOjson(body, "ollama embeddings response");
  std::vector<std::vector<double>> out;
  if (const ojson* es = field(j, "embeddings"); es && es->is_array()) {
    for (const auto& e : *es) {
      std::vector<double> v;
      for (const auto& x : e) v.push_back(x.get<double>());
      out.push_back(std::move(v));
    }
  }
  return out;
}

WireRequest OllamaCodec::encodeListModels(const ProviderConfig& cfg) const {
  WireRequest w;
  w.method = "GET";
  w.url = joinUrl(base(cfg), "/api/tags");
  if (!cfg.apiKey.empty()) w.headers.emplace_back("Authorization", "Bearer " + cfg.apiKey);
  return w;
}

Value OllamaCodec::decodeListModels(std::string_view body) const {
  ojson j = parseOjson(body, "ollama model list");
  Value out = Value::array();
  if (const ojson* ms = field(j, "models"); ms && ms->is_array()) {
    for (const auto& m : *ms) out.asArray().push(Value::object({{"id", str(m, "name")}}));
  }
  return out;
}

}  // namespace llmspell::llm
