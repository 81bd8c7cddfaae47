// Shared by the SSE and NDJSON codec fuzz targets: every provider's stream decoder, each with its
// fast path (simdjson, text deltas) and its general path, fed the same events as the client feeds
// them (src/llm/client.cpp). Oracles: no crash; no `internal` error; the fast and general paths
// give the same chunks, the same errors and the same final response.
#pragma once

#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "llm/codecs.hpp"
#include "llmspell/core/error.hpp"

namespace llmspell::fuzz {

class CodecStreams {
 public:
  CodecStreams() {
    for (bool fast : {false, true}) {
      add(llm::openAiStreamDecoder(false, fast));
      add(llm::openAiStreamDecoder(true, fast));
      add(llm::anthropicStreamDecoder(fast));
      add(llm::geminiStreamDecoder(fast));
      add(llm::ollamaStreamDecoder(fast));
    }
  }

  void feed(std::string_view event, std::string_view data) {
    for (auto& d : decoders_) {
      if (d.stopped || d.dec->finished()) continue;
      std::vector<llm::StreamChunk> out;
      d.trace += outcome([&] { d.dec->feed(event, data, out); }, d.stopped);
      for (const auto& c : out) {
        d.trace += "[" + c.text + "|" + c.reasoning + "|";
        if (c.toolCall)
          d.trace += std::to_string(c.toolCall->index) + "|" + c.toolCall->id + "|" +
                     c.toolCall->name + "|" + c.toolCall->argumentsDelta;
        d.trace += "]";
      }
    }
  }

  // Ends every stream and checks each fast path against its general twin.
  void finish() {
    for (auto& d : decoders_) {
      if (d.stopped) continue;
      bool stopped = false;
      llm::ChatResponse r;
      d.trace += "finished=" + std::to_string(d.dec->finished()) + " ";
      d.trace += outcome([&] { r = d.dec->finish(); }, stopped);
      if (stopped) continue;
      d.trace += r.text + "|" + r.reasoning + "|" + r.model + "|" + r.rawFinishReason + "|" +
                 std::to_string(static_cast<int>(r.finishReason)) + "|" +
                 std::to_string(r.usage.inputTokens) + "|" + std::to_string(r.usage.outputTokens) +
                 "|" + std::to_string(r.toolCalls.size()) + "|" +
                 std::to_string(r.message.parts.size());
      for (const auto& c : r.toolCalls) d.trace += "|" + c.id + c.name + c.rawArguments;
    }
    size_t half = decoders_.size() / 2;
    for (size_t i = 0; i < half; ++i)
      if (decoders_[i].trace != decoders_[i + half].trace) std::abort();
  }

 private:
  struct Decoder {
    std::unique_ptr<llm::StreamDecoder> dec;
    std::string trace;
    bool stopped = false;  // an error ends the stream, as it aborts the transfer in the client
  };

  void add(std::unique_ptr<llm::StreamDecoder> d) { decoders_.push_back({std::move(d), {}, false}); }

  // The client turns an Exception into the call's error and any other std::exception into
  // provider_error (an unexpected JSON shape); either ends the stream.
  template <typename F>
  static std::string outcome(F&& f, bool& stopped) {
    try {
      f();
      return "";
    } catch (const Exception& e) {
      if (e.error().code == codes::kInternal) std::abort();
      stopped = true;
      return "error " + e.error().code + ": " + e.error().message + ";";
    } catch (const std::exception&) {
      stopped = true;
      return "exception;";
    }
  }

  std::vector<Decoder> decoders_;
};

}  // namespace llmspell::fuzz
