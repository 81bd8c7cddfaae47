// Messages between the serve parent and its workers: a 4-byte big-endian length, then that many
// bytes of JSON. The worker side reads and writes blocking; the parent reads with Asio.
#pragma once

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

// Blocking, for the worker: false on EOF or error.
bool readFrame(int fd, std::string& out);
bool writeAll(int fd, std::string_view bytes);

}  // namespace llmspell::serve
