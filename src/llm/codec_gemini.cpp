// Gemini (Generative Language API v1beta) codec: contents/parts, systemInstruction,
// functionCall/functionResponse with thoughtSignature echoed back, blocked prompts, SSE stream.
#include <map>

#include "llm/codecs.hpp"
#include "llm/simd_util.hpp"
#include "llmspell/core/error.hpp"

namespace llmspell::llm {

namespace {

constexpr std::string_view kSyntheticId = "gemini_call_";

ojson functionResponsePart(const ContentPart& p, const std::map<std::string, std::string>& names) {
  std::string name = p.toolName;
  if (name.empty()) {
    auto it = names.find(p.toolCallId);
    if (it != names.end()) name = it->second;
  }
  if (name.empty()) {
    fail(codes::kInvalidArgument, "gemini needs the tool name of every tool result (tool_call_id " +
                                      p.toolCallId + " matches no earlier call)");
  }
  ojson response;
  try {
    ojson parsed = ojson::parse(p.text);
    response = parsed.is_object() ? parsed : ojson{{"result", parsed}};
  } catch (const std::exception&) {
    response = {{"result", p.text}};
  }
  if (p.isError) response = {{"error", response}};
  ojson fr = {{"name", name}};
  if (!p.toolCallId.empty() && p.toolCallId.rfind(kSyntheticId, 0) != 0) fr["id"] = p.toolCallId;
  fr["response"] = response;
  return {{"functionResponse", fr}};
}

ojson partsOf(const Message& m, const std::map<std::string, std::string>& names) {
  ojson parts = ojson::array();
  for (const auto& p : m.parts) {
    switch (p.kind) {
      case ContentPart::Kind::kText:
        if (!p.text.empty()) parts.push_back({{"text", p.text}});
        break;
      case ContentPart::Kind::kImage: {
        std::string mt = p.mediaType, bytes = p.data;
        if (!p.url.empty() && !parseDataUrl(p.url, mt, bytes)) {
          parts.push_back({{"fileData", {{"mimeType", mt.empty() ? "image/jpeg" : mt}, {"fileUri", p.url}}}});
          break;
        }
        parts.push_back({{"inlineData", {{"mimeType", mt.empty() ? "image/png" : mt}, {"data", base64Encode(bytes)}}}});
        break;
      }
      case ContentPart::Kind::kReasoning:
        if (m.role == Role::kAssistant && !p.signature.empty()) {
          ojson part = {{"text", p.text}};
          if (!p.text.empty()) part["thought"] = true;
          part["thoughtSignature"] = p.signature;
          parts.push_back(part);
        }
        break;
      case ContentPart::Kind::kToolCall: {
        ojson fc = {{"name", p.call.name},
                    {"args", toOjson(p.call.arguments.isNull() ? Value::object() : p.call.arguments)}};
        if (!p.call.id.empty() && p.call.id.rfind(kSyntheticId, 0) != 0) fc["id"] = p.call.id;
        ojson part = {{"functionCall", fc}};
        if (!p.call.signature.empty()) part["thoughtSignature"] = p.call.signature;
        parts.push_back(part);
        break;
      }
      case ContentPart::Kind::kToolResult: parts.push_back(functionResponsePart(p, names)); break;
    }
  }
  return parts;
}

FinishReason mapFinish(std::string_view s) {
  if (s == "STOP") return FinishReason::kStop;
  if (s == "MAX_TOKENS") return FinishReason::kLength;
  if (s == "SAFETY" || s == "RECITATION" || s == "BLOCKLIST" || s == "PROHIBITED_CONTENT" ||
      s == "SPII" || s == "LANGUAGE" || s == "IMAGE_SAFETY") {
    return FinishReason::kContentFilter;
  }
  if (s == "MALFORMED_FUNCTION_CALL" || s == "UNEXPECTED_TOOL_CALL") return FinishReason::kError;
  return FinishReason::kOther;
}

void readUsage(const ojson& u, Usage& out) {
  out.present = true;
  out.inputTokens = num(u, "promptTokenCount");
  int64_t thoughts = num(u, "thoughtsTokenCount");
  out.outputTokens = num(u, "candidatesTokenCount") + thoughts;
  out.reasoningTokens = thoughts;
  out.cachedTokens = num(u, "cachedContentTokenCount");
  out.totalTokens = num(u, "totalTokenCount", out.inputTokens + out.outputTokens);
}

// Accumulates response fragments (a whole response is one fragment).
class GeminiAccumulator {
 public:
  void add(const ojson& j, std::vector<StreamChunk>* out) {
    if (const ojson* u = field(j, "usageMetadata")) readUsage(*u, r_.usage);  // cumulative
    if (!str(j, "modelVersion").empty()) r_.model = str(j, "modelVersion");
    const ojson* cands = field(j, "candidates");
    if (!cands || !cands->is_array() || cands->empty()) {
      if (const ojson* pf = field(j, "promptFeedback"); pf && !str(*pf, "blockReason").empty()) {
        blocked_ = str(*pf, "blockReason");
        r_.raw = Value::object({{"prompt_feedback", fromOjson(*pf)}});
      }
      return;
    }
    const ojson& c = (*cands)[0];
    if (!str(c, "finishReason").empty()) r_.rawFinishReason = str(c, "finishReason");
    const ojson* content = field(c, "content");
    const ojson* parts = content ? field(*content, "parts") : nullptr;
    if (!parts || !parts->is_array()) return;
    for (const auto& p : *parts) {
      std::string sig = str(p, "thoughtSignature");
      if (const ojson* fc = field(p, "functionCall")) {
        ToolCall call;
        call.name = str(*fc, "name");
        call.id = str(*fc, "id");
        if (call.id.empty()) call.id = std::string(kSyntheticId) + std::to_string(calls_.size());
        if (const ojson* a = field(*fc, "args"); a && a->is_object()) call.arguments = fromOjson(*a);
        call.signature = sig;
        if (out) {
          StreamChunk ch;
          ch.toolCall = ToolCallDelta{static_cast<int64_t>(calls_.size()), call.id, call.name,
                                      toOjson(call.arguments).dump()};
          out->push_back(std::move(ch));
        }
        calls_.push_back(call);
        r_.message.parts.push_back(ContentPart::toolCallPart(std::move(call)));
        continue;
      }
      if (const ojson* t = field(p, "text"); t && t->is_string()) {
        std::string text = t->get<std::string>();
        bool thought = field(p, "thought") && (*field(p, "thought")).is_boolean() && p["thought"].get<bool>();
        if (thought || (text.empty() && !sig.empty())) {
          ContentPart rp;
          rp.kind = ContentPart::Kind::kReasoning;
          rp.text = thought ? text : "";
          rp.signature = sig;
          if (thought) r_.reasoning += text;
          r_.message.parts.push_back(std::move(rp));
          if (out && thought && !text.empty()) {
            StreamChunk ch;
            ch.reasoning = text;
            out->push_back(std::move(ch));
          }
          continue;
        }
        r_.text += text;
        // Merge consecutive text parts so the echoed message stays compact.
        if (!r_.message.parts.empty() && r_.message.parts.back().kind == ContentPart::Kind::kText &&
            sig.empty()) {
          r_.message.parts.back().text += text;
        } else {
          r_.message.parts.push_back(ContentPart::textPart(text));
          if (!sig.empty()) {  // a signature on a text part: keep it beside the text
            ContentPart rp;
            rp.kind = ContentPart::Kind::kReasoning;
            rp.signature = sig;
            r_.message.parts.push_back(std::move(rp));
          }
        }
        if (out && !text.empty()) {
          StreamChunk ch;
          ch.text = text;
          out->push_back(std::move(ch));
        }
      }
    }
  }

  // add() for the common stream event (text parts of the first candidate, usage, model,
  // finish reason) read from simdjson's DOM without building nlohmann values. Anything else
  // (errors, function calls, thoughts, signatures, blocked prompts, odd shapes) returns false
  // having changed nothing, and add() handles it; both mean the same (the codec test feeds
  // both the same random events).
  bool addFast(simdjson::dom::object root, std::vector<StreamChunk>* out) {
    simdjson::dom::element usage, cands;
    bool haveUsage = false, haveCands = false;
    std::string_view model;
    for (auto f : root) {  // duplicate keys: the last one counts, as in add()
      if (f.key == "usageMetadata") {
        haveUsage = !f.value.is_null();
        usage = f.value;
      } else if (f.key == "candidates") {
        haveCands = !f.value.is_null();
        cands = f.value;
      } else if (f.key == "modelVersion") {
        model = simdStr(f.value);
      } else if (f.key == "error" || (f.key == "object" && simdStr(f.value) == "error")) {
        return false;
      }
    }
    simdjson::dom::object u;
    if (haveUsage && usage.get_object().get(u) != simdjson::SUCCESS) return false;
    simdjson::dom::array ca;
    if (!haveCands || cands.get_array().get(ca) != simdjson::SUCCESS || ca.size() == 0) return false;
    simdjson::dom::object c;
    if (ca.at(0).get_object().get(c) != simdjson::SUCCESS) return false;
    std::string_view finish;
    simdjson::dom::element content;
    bool haveContent = false;
    for (auto f : c) {
      if (f.key == "finishReason") finish = simdStr(f.value);
      else if (f.key == "content") content = f.value, haveContent = !f.value.is_null();
    }
    simdjson::dom::array parts;
    bool haveParts = false;
    if (haveContent) {
      simdjson::dom::object co;
      if (content.get_object().get(co) == simdjson::SUCCESS) {
        simdjson::dom::element pe;
        bool found = false;
        for (auto f : co)
          if (f.key == "parts") pe = f.value, found = true;
        haveParts = found && pe.get_array().get(parts) == simdjson::SUCCESS;
      }
    }
    // A text part, or a function call (with its signature) when `call` is set.
    struct Item {
      std::string_view text, signature;
      simdjson::dom::element call;
      bool isCall = false;
    };
    Item items[8];
    size_t nt = 0;
    if (haveParts) {
      for (auto p : parts) {
        simdjson::dom::object po;
        if (p.get_object().get(po) != simdjson::SUCCESS) continue;
        simdjson::dom::element text, call;
        bool haveText = false, haveCall = false, thought = false;
        std::string_view sig;
        for (auto f : po) {
          if (f.key == "text") text = f.value, haveText = true;
          else if (f.key == "functionCall") call = f.value, haveCall = !f.value.is_null();
          else if (f.key == "thought") thought = !f.value.is_null();
          else if (f.key == "thoughtSignature") sig = simdStr(f.value);
        }
        if (haveCall) {  // add() reads a call first, whatever else the part holds
          if (nt == std::size(items)) return false;
          items[nt++] = Item{{}, sig, call, true};
          continue;
        }
        if (thought || !sig.empty()) return false;
        if (!haveText || !text.is_string()) continue;
        if (nt == std::size(items)) return false;
        items[nt++].text = simdStr(text);
      }
    }
    // Validated: apply, in add()'s order.
    if (haveUsage) {
      int64_t prompt = 0, cands_ = 0, thoughts = 0, cached = 0, total = 0;
      bool haveTotal = false;
      for (auto f : u) {
        if (f.key == "promptTokenCount") prompt = simdNum(f.value);
        else if (f.key == "candidatesTokenCount") cands_ = simdNum(f.value);
        else if (f.key == "thoughtsTokenCount") thoughts = simdNum(f.value);
        else if (f.key == "cachedContentTokenCount") cached = simdNum(f.value);
        else if (f.key == "totalTokenCount") total = simdNum(f.value, INT64_MIN), haveTotal = total != INT64_MIN;
      }
      r_.usage.present = true;
      r_.usage.inputTokens = prompt;
      r_.usage.outputTokens = cands_ + thoughts;
      r_.usage.reasoningTokens = thoughts;
      r_.usage.cachedTokens = cached;
      r_.usage.totalTokens = haveTotal ? total : prompt + cands_ + thoughts;
    }
    if (!model.empty() && model != r_.model) r_.model = model;
    if (!finish.empty()) r_.rawFinishReason = finish;
    for (size_t i = 0; i < nt; ++i) {
      if (items[i].isCall) {
        addCallFast(items[i].call, items[i].signature, out);
        continue;
      }
      std::string_view text = items[i].text;
      r_.text += text;
      if (!r_.message.parts.empty() && r_.message.parts.back().kind == ContentPart::Kind::kText)
        r_.message.parts.back().text += text;
      else
        r_.message.parts.push_back(ContentPart::textPart(std::string(text)));
      if (out && !text.empty()) out->emplace_back().text = text;
    }
    return true;
  }

  // add()'s reading of a functionCall part, from the DOM (args become a Value directly).
  void addCallFast(simdjson::dom::element fc, std::string_view sig, std::vector<StreamChunk>* out) {
    ToolCall call;
    call.name = simdStrField(fc, "name");
    call.id = simdStrField(fc, "id");
    if (call.id.empty()) call.id = std::string(kSyntheticId) + std::to_string(calls_.size());
    if (simdjson::dom::element a; simdField(fc, "args", a) && a.is_object()) call.arguments = simdToValue(a);
    call.signature = sig;
    if (out) {
      out->emplace_back().toolCall =
          ToolCallDelta{static_cast<int64_t>(calls_.size()), call.id, call.name, valueJson(call.arguments)};
    }
    calls_.push_back(call);
    r_.message.parts.push_back(ContentPart::toolCallPart(std::move(call)));
  }

  bool complete() const { return !r_.rawFinishReason.empty() || !blocked_.empty(); }

  ChatResponse result() const {
    ChatResponse r = r_;
    r.provider = "gemini";
    r.message.role = Role::kAssistant;
    r.toolCalls = calls_;
    if (!blocked_.empty()) {
      r.rawFinishReason = blocked_;
      r.finishReason = FinishReason::kContentFilter;
    } else {
      r.finishReason = mapFinish(r.rawFinishReason);
      if (!r.toolCalls.empty() && r.finishReason == FinishReason::kStop) r.finishReason = FinishReason::kToolCalls;
    }
    if (r.message.parts.empty()) r.message.parts.push_back(ContentPart::textPart(""));
    return r;
  }

 private:
  ChatResponse r_;
  std::vector<ToolCall> calls_;
  std::string blocked_;
};

class GeminiStream : public StreamDecoder {
 public:
  explicit GeminiStream(bool fast) : fast_(fast) {}

  void feed(std::string_view, std::string_view data, std::vector<StreamChunk>& out) override {
    if (simdjson::dom::object root; fast_ && simdParseObject(data, root) && acc_.addFast(root, &out)) return;
    if (auto e = inBandError("gemini", data)) {
      ojson j = parseOjson(data, "gemini stream event");
      if (field(j, "error")) throw Exception(*e);
    }
    acc_.add(parseOjson(data, "gemini stream event"), &out);
  }
  bool finished() const override { return acc_.complete(); }
  ChatResponse finish() override {
    if (!acc_.complete()) {
      fail(codes::kProviderError, "gemini stream ended before the response was complete (no finishReason)", true);
    }
    return acc_.result();
  }

 private:
  bool fast_;
  GeminiAccumulator acc_;
};

std::string modelPath(const std::string& model) {
  return model.rfind("models/", 0) == 0 ? model : "models/" + model;
}

void addAuth(WireRequest& w, const ProviderConfig& cfg) {
  if (!cfg.apiKey.empty()) w.headers.emplace_back("x-goog-api-key", cfg.apiKey);
  for (const auto& h : cfg.headers) w.headers.push_back(h);
}

}  // namespace

WireRequest GeminiCodec::encodeChat(const ChatRequest& req, const ProviderConfig& cfg) const {
  ojson body = ojson::object();
  std::string system;
  std::map<std::string, std::string> names;  // call id -> tool name, for functionResponse
  ojson contents = ojson::array();
  for (const auto& m : req.messages) {
    if (m.role == Role::kSystem) {
      if (!system.empty()) system += "\n\n";
      system += m.text();
      continue;
    }
    for (const auto& c : m.toolCalls()) names[c.id] = c.name;
    std::string role = m.role == Role::kAssistant ? "model" : "user";
    ojson parts = partsOf(m, names);
    if (m.role == Role::kTool && !contents.empty() && contents.back()["role"] == "user") {
      bool prevResults = !contents.back()["parts"].empty() &&
                         contents.back()["parts"].back().contains("functionResponse");
      if (prevResults) {
        for (auto& p : parts) contents.back()["parts"].push_back(p);
        continue;
      }
    }
    if (parts.empty()) parts.push_back({{"text", ""}});
    contents.push_back({{"role", role}, {"parts", parts}});
  }
  if (!system.empty()) body["systemInstruction"] = {{"parts", {{{"text", system}}}}};
  body["contents"] = contents;
  ojson gen = ojson::object();
  if (req.temperature) gen["temperature"] = *req.temperature;
  if (req.topP) gen["topP"] = *req.topP;
  if (req.maxTokens) gen["maxOutputTokens"] = *req.maxTokens;
  if (!req.stop.empty()) gen["stopSequences"] = req.stop;
  if (req.seed) gen["seed"] = *req.seed;
  if (!req.responseSchema.isNull()) {
    gen["responseMimeType"] = "application/json";
    gen["responseJsonSchema"] = toOjson(req.responseSchema);
  } else if (req.jsonMode) {
    gen["responseMimeType"] = "application/json";
  }
  if (!gen.empty()) body["generationConfig"] = gen;
  if (!req.tools.empty()) {
    ojson decls = ojson::array();
    for (const auto& t : req.tools) {
      ojson d = {{"name", t.name}, {"description", t.description}};
      d["parametersJsonSchema"] = toOjson(t.parameters);
      decls.push_back(d);
    }
    body["tools"] = {{{"functionDeclarations", decls}}};
    if (!req.toolChoice.mode.empty()) {
      ojson fcc;
      if (req.toolChoice.mode == "required") fcc = {{"mode", "ANY"}};
      else if (req.toolChoice.mode == "none") fcc = {{"mode", "NONE"}};
      else if (req.toolChoice.mode == "tool") fcc = {{"mode", "ANY"}, {"allowedFunctionNames", {req.toolChoice.name}}};
      else fcc = {{"mode", "AUTO"}};
      body["toolConfig"] = {{"functionCallingConfig", fcc}};
    }
  }
  mergeExtra(body, req.extra);
  WireRequest w;
  std::string base = cfg.baseUrl.empty() ? defaultBaseUrl(kind()) : cfg.baseUrl;
  w.url = joinUrl(base, "/" + modelPath(req.model) +
                            (req.stream ? ":streamGenerateContent?alt=sse" : ":generateContent"));
  w.headers.emplace_back("Content-Type", "application/json");
  addAuth(w, cfg);
  w.body = dumpJson(body);
  w.framing = req.stream ? Framing::kSse : Framing::kJson;
  return w;
}

ChatResponse GeminiCodec::decodeChat(std::string_view body) const {
  if (auto e = inBandError("gemini", body)) throw Exception(*e);
  GeminiAccumulator acc;
  // The reply is one event of the stream's shape: the fast reading when it applies, no tree.
  if (simdjson::dom::object root; simdParseObject(body, root) && acc.addFast(root, nullptr)) return acc.result();
  acc.add(parseOjson(body, "gemini response"), nullptr);
  return acc.result();
}

std::unique_ptr<StreamDecoder> geminiStreamDecoder(bool fastPath) {
  return std::make_unique<GeminiStream>(fastPath);
}

std::unique_ptr<StreamDecoder> GeminiCodec::streamDecoder() const {
  return geminiStreamDecoder(true);
}

WireRequest GeminiCodec::encodeEmbed(const std::vector<std::string>& texts, const std::string& model,
                                     const Value& opts, const ProviderConfig& cfg) const {
  ojson reqs = ojson::array();
  for (const auto& t : texts) {
    ojson r = {{"model", modelPath(model)}, {"content", {{"parts", {{{"text", t}}}}}}};
    if (opts.get("dimensions").isNumber()) r["outputDimensionality"] = opts.getInt("dimensions");
    reqs.push_back(r);
  }
  WireRequest w;
  w.url = joinUrl(cfg.baseUrl.empty() ? defaultBaseUrl(kind()) : cfg.baseUrl,
                  "/" + modelPath(model) + ":batchEmbedContents");
  w.headers.emplace_back("Content-Type", "application/json");
  addAuth(w, cfg);
  w.body = dumpJson(ojson{{"requests", reqs}});
  return w;
}

std::vector<std::vector<double>> GeminiCodec::decodeEmbed(std::string_view body) const {
  if (auto e = inBandError("gemini", body)) throw Exception(*e);
  ojson j = parseOjson(body, "gemini embeddings response");
  std::vector<std::vector<double>> out;
  if (const ojson* es = field(j, "embeddings"); es && es->is_array()) {
    for (const auto& e : *es) {
      std::vector<double> v;
      if (const ojson* vals = field(e, "values"); vals && vals->is_array()) {
        for (const auto& x : *vals) v.push_back(x.get<double>());
      }
      out.push_back(std::move(v));
    }
  }
  return out;
}

WireRequest GeminiCodec::encodeListModels(const ProviderConfig& cfg) const {
  WireRequest w;
  w.method = "GET";
  w.url = joinUrl(cfg.baseUrl.empty() ? defaultBaseUrl(kind()) : cfg.baseUrl, "/models?pageSize=1000");
  addAuth(w, cfg);
  return w;
}

Value GeminiCodec::decodeListModels(std::string_view body) const {
  ojson j = parseOjson(body, "gemini model list");
  Value out = Value::array();
  if (const ojson* ms = field(j, "models"); ms && ms->is_array()) {
    for (const auto& m : *ms) {
      std::string id = str(m, "name");
      if (id.rfind("models/", 0) == 0) id = id.substr(7);
      Value v = Value::object({{"id", id}});
      if (!str(m, "displayName").empty()) v.asObject().set("display_name", str(m, "displayName"));
      if (num(m, "inputTokenLimit") > 0) v.asObject().set("context_window", num(m, "inputTokenLimit"));
      if (num(m, "outputTokenLimit") > 0) v.asObject().set("max_output", num(m, "outputTokenLimit"));
      out.asArray().push(v);
    }
  }
  return out;
}

}  // namespace llmspell::llm
