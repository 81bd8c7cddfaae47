// Running `llmspell serve` from a test and talking HTTP to it over loopback.
#pragma once

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "llmspell/runtime/asio.hpp"

extern char** environ;

namespace llmspell::test {

// A spells directory under the test's temp dir: spells["name"] = {{"spell.yaml", ...}, {"main.lua", ...}}.
inline std::string writeSpells(const std::string& tag, const std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>>& spells) {
  namespace fs = std::filesystem;
  std::string dir = testing::TempDir() + "/llmspell_serve_" + tag + "_" + std::to_string(getpid());
  fs::remove_all(dir);
  for (const auto& [name, files] : spells) {
    fs::create_directories(dir + "/" + name);
    for (const auto& [file, text] : files) std::ofstream(dir + "/" + name + "/" + file) << text;
  }
  return dir;
}

// `llmspell serve ARGS --listen 127.0.0.1:0`, its port read from its first line of output.
class ServeProcess {
 public:
  explicit ServeProcess(std::vector<std::string> args) {
    int out[2];
    if (pipe(out) != 0) return;
    std::vector<std::string> all = {cliPath(), "serve", "--listen", "127.0.0.1:0"};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    std::string line;
    char c;
    while (read(out[0], &c, 1) == 1 && c != '\n') line += c;
    close(out[0]);
    firstLine_ = line;
    size_t colon = line.rfind(':');
    if (line.rfind("listening on ", 0) == 0 && colon != std::string::npos) port_ = std::atoi(line.c_str() + colon + 1);
  }
  ~ServeProcess() {
    if (pid_ > 0 && !waited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& firstLine() const { return firstLine_; }
  // SIGTERM, then the exit code (-1 when killed by a signal).
  int terminate() {
    kill(pid_, SIGTERM);
    return wait();
  }
  int wait() {
    int st = 0;
    waitpid(pid_, &st, 0);
    waited_ = true;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  bool waited_ = false;
  std::string firstLine_;
};

struct HttpReply {
  int status = 0;
  std::string headers, body;
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

// Decodes a chunked body.
inline std::string unchunk(const std::string& in) {
  std::string out;
  size_t p = 0;
  while (p < in.size()) {
    size_t nl = in.find("\r\n", p);
    if (nl == std::string::npos) break;
    size_t n = std::strtoul(in.substr(p, nl - p).c_str(), nullptr, 16);
    if (n == 0) break;
    out += in.substr(nl + 2, n);
    p = nl + 2 + n + 2;
  }
  return out;
}

// One request on a new connection (connection: close), the whole reply.
inline HttpReply http(int port, const std::string& method, const std::string& path, const std::string& body = "",
                      const std::string& extraHeaders = "") {
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  HttpReply r;
  boost::system::error_code ec;
  s.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)}, ec);
  if (ec) return r;
  std::string req = method + " " + path + " HTTP/1.1\r\nhost: t\r\nconnection: close\r\n" + extraHeaders;
  if (!body.empty() || method == "POST") req += "content-type: application/json\r\ncontent-length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  asio::write(s, asio::buffer(req), ec);
  std::string all;
  asio::read(s, asio::dynamic_buffer(all), ec);
  size_t end = all.find("\r\n\r\n");
  if (end == std::string::npos) return r;
  r.status = std::atoi(all.c_str() + 9);
  r.headers = all.substr(0, end);
  r.body = all.substr(end + 4);
  if (r.headers.find("transfer-encoding: chunked") != std::string::npos) r.body = unchunk(r.body);
  return r;
}

// Reads an SSE response as it arrives.
class SseClient {
 public:
  SseClient(int port, const std::string& method, const std::string& path, const std::string& body,
            const std::string& headers = "")
      : s_(io_) {
    s_.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    std::string req = method + " " + path + " HTTP/1.1\r\nhost: t\r\n" + headers;
    if (method == "POST") req += "content-type: application/json\r\ncontent-length: " + std::to_string(body.size()) + "\r\n";
    asio::write(s_, asio::buffer(req + "\r\n" + body));
  }
  // Reads until `needle` is in what arrived (decoded or not); false on EOF.
  bool readUntil(const std::string& needle) {
    while (buf_.find(needle) == std::string::npos) {
      char b[4096];
      boost::system::error_code ec;
      size_t n = s_.read_some(asio::buffer(b), ec);
      if (ec) return false;
      buf_.append(b, n);
    }
    return true;
  }
  void readAll() {
    boost::system::error_code ec;
    while (!ec && buf_.find("\r\n0\r\n\r\n") == std::string::npos) {
      char b[4096];
      size_t n = s_.read_some(asio::buffer(b), ec);
      buf_.append(b, n);
    }
  }
  const std::string& text() const { return buf_; }
  std::string runId() const {
    size_t p = buf_.find("x-run-id: ");
    return p == std::string::npos ? "" : buf_.substr(p + 10, buf_.find("\r\n", p) - p - 10);
  }
  void close() { s_.close(); }

 private:
  asio::io_context io_;
  asio::ip::tcp::socket s_;
  std::string buf_;
};

}  // namespace llmspell::test
