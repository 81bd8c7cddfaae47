// Messages between the serve parent and its workers: a 4-byte big-endian length, then that many
// bytes. A message is JSON (it starts with `{`: a worker's `ready`), or, for a run and what a
// worker sends for it, a tag byte and fields (FieldFrame): the parent then passes an event's data
// on as the JSON text it came as, where parsing every frame into a tree and writing it out again
// was a third of what the parent spent on a run. The worker side reads and writes blocking; the
// parent reads with Asio.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace llmspell::serve {

inline constexpr uint32_t kMaxFrameBytes = 64u << 20;

inline std::string frame(std::string_view json) {
  uint32_t n = static_cast<uint32_t>(json.size());
  std::string out;
  out.reserve(4 + json.size());
  out += static_cast<char>(n >> 24);
  out += static_cast<char>(n >> 16);
  out += static_cast<char>(n >> 8);
  out += static_cast<char>(n);
  out.append(json);
  return out;
}

inline uint32_t frameLength(const unsigned char* b) {
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
}

// The tags of the frames that are not JSON, and their fields in order. To a worker:
// id, spell, dir, data_dir, grace_s, timeout_s, memory_mb, instructions, traceparent (text and
// numbers, "" for none), then params, typed_params, config, grants (JSON text, "" for none).
inline constexpr char kRunTag = 'R';
// From a worker:
inline constexpr char kStartedTag = 'S';  // id, run_id
// id, name, data (JSON text), then what the parent counts: for llm.response provider, model,
// input tokens, output tokens, cost; for llm.error model, code; for tool.result the tool
inline constexpr char kEventTag = 'E';
inline constexpr char kCallTag = 'C';     // a call log row: see the worker's forwardCall
inline constexpr char kDoneTag = 'D';     // id, error code ("" for none), error message, value (JSON text, "" for none)

// A tagged frame's body: the tag, then each field as a 4-byte big-endian length and its bytes.
class FieldFrame {
 public:
  explicit FieldFrame(char tag) { body_ += tag; }
  FieldFrame& add(std::string_view field) {
    uint32_t n = static_cast<uint32_t>(field.size());
    char len[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n)};
    body_.append(len, 4);
    body_.append(field);
    return *this;
  }
  const std::string& body() const { return body_; }

 private:
  std::string body_;
};

// A number field (written with std::to_string or appendJsonDouble) read whole into `out`; false
// when the field is not one.
template <typename T>
bool numberField(std::string_view field, T& out) {
  auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), out);
  return ec == std::errc() && end == field.data() + field.size();
}

// Reads a tagged frame's fields in order; next() is false past the last or on a field cut short.
class FieldReader {
 public:
  explicit FieldReader(std::string_view body) : rest_(body.empty() ? body : body.substr(1)) {}
  bool next(std::string_view& field) {
    if (rest_.size() < 4) return false;
    uint32_t n = frameLength(reinterpret_cast<const unsigned char*>(rest_.data()));
    if (rest_.size() - 4 < n) return false;
    field = rest_.substr(4, n);
    rest_.remove_prefix(4 + n);
    return true;
  }

 private:
  std::string_view rest_;
};

// Blocking, for the worker: false on EOF or error.
bool readFrame(int fd, std::string& out);
bool writeAll(int fd, std::string_view bytes);

}  // namespace llmspell::serve
