// The concrete provider codecs (internal: reach them through codecFor()).
#pragma once

#include "llm/json_util.hpp"
#include "llmspell/llm/codec.hpp"

namespace llmspell::llm {

// OpenAI Chat Completions; `compatible` relaxes it for llama.cpp, vLLM, LM Studio, OpenRouter,
// Groq (max_tokens, reasoning_content / reasoning, x_groq.usage, errors inside a 200 stream).
class OpenAiCodec : public Codec {
 public:
  explicit OpenAiCodec(bool compatible) : compatible_(compatible) {}
  std::string_view kind() const override { return compatible_ ? "openai-compatible" : "openai"; }
  WireRequest encodeChat(const ChatRequest& req, const ProviderConfig& cfg) const override;
  ChatResponse decodeChat(std::string_view body) const override;
  std::unique_ptr<StreamDecoder> streamDecoder() const override;
  WireRequest encodeEmbed(const std::vector<std::string>& texts, const std::string& model,
                          const Value& opts, const ProviderConfig& cfg) const override;
  std::vector<std::vector<double>> decodeEmbed(std::string_view body) const override;
  WireRequest encodeListModels(const ProviderConfig& cfg) const override;
  Value decodeListModels(std::string_view body) const override;

 private:
  bool compatible_;
};

// Stream decoders with their fast path for text deltas on or off (the codecs use on; the codec
// test checks that both mean the same).
std::unique_ptr<StreamDecoder> openAiStreamDecoder(bool compatible, bool fastPath);
std::unique_ptr<StreamDecoder> geminiStreamDecoder(bool fastPath);
std::unique_ptr<StreamDecoder> anthropicStreamDecoder(bool fastPath);
std::unique_ptr<StreamDecoder> ollamaStreamDecoder(bool fastPath);

class AnthropicCodec : public Codec {
 public:
  std::string_view kind() const override { return "anthropic"; }
  WireRequest encodeChat(const ChatRequest& req, const ProviderConfig& cfg) const override;
  ChatResponse decodeChat(std::string_view body) const override;
  std::unique_ptr<StreamDecoder> streamDecoder() const override;
  WireRequest encodeListModels(const ProviderConfig& cfg) const override;
  Value decodeListModels(std::string_view body) const override;
};

class GeminiCodec : public Codec {
 public:
  std::string_view kind() const override { return "gemini"; }
  WireRequest encodeChat(const ChatRequest& req, const ProviderConfig& cfg) const override;
  ChatResponse decodeChat(std::string_view body) const override;
  std::unique_ptr<StreamDecoder> streamDecoder() const override;
  WireRequest encodeEmbed(const std::vector<std::string>& texts, const std::string& model,
                          const Value& opts, const ProviderConfig& cfg) const override;
  std::vector<std::vector<double>> decodeEmbed(std::string_view body) const override;
  WireRequest encodeListModels(const ProviderConfig& cfg) const override;
  Value decodeListModels(std::string_view body) const override;
};

class OllamaCodec : public Codec {
 public:
  std::string_view kind() const override { return "ollama"; }
  WireRequest encodeChat(const ChatRequest& req, const ProviderConfig& cfg) const override;
  ChatResponse decodeChat(std::string_view body) const override;
  std::unique_ptr<StreamDecoder> streamDecoder() const override;
  WireRequest encodeEmbed(const std::vector<std::string>& texts, const std::string& model,
                          const Value& opts, const ProviderConfig& cfg) const override;
  std::vector<std::vector<double>> decodeEmbed(std::string_view body) const override;
  WireRequest encodeListModels(const ProviderConfig& cfg) const override;
  Value decodeListModels(std::string_view body) const override;
};

// "https://x/v1/" + "/chat" without doubled slashes.
std::string joinUrl(std::string_view base, std::string_view path);
// Adds extra body fields from req.extra (object) on top of `body`.
void mergeExtra(ojson& body, const Value& extra);

// The top level of a request body written straight to text (JsonOut), with req.extra merged as
// mergeExtra() merges it into a tree: an extra field the codec also writes takes its value in
// the codec's place, the others follow at the end in extra's order.
class BodyWriter {
 public:
  BodyWriter(std::string& out, const Value& extra);
  // Writes the key of member `name` and returns true for the caller to write its value; when
  // extra has that field, writes extra's value instead and returns false.
  bool field(std::string_view name);
  // The remaining extra fields and the closing brace.
  void finish();
  JsonOut& json() { return j_; }

 private:
  JsonOut j_;
  const Object* extra_ = nullptr;
  std::vector<std::string_view> used_;
};

}  // namespace llmspell::llm
