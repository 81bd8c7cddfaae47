// The floor for bench/llm/streams.sh: the same streamed chat reply read by libcurl alone, with
// a write callback that only counts events (SSE blank lines, or NDJSON lines for Ollama).
// Whatever llmspell spends per chunk above this (same libcurl, same fake server, same run) is
// its own overhead from socket to script callback.
//   raw_stream KIND BASE_URL WORDS   -> prints "events N user_us U sys_us S"
// KIND is openai, anthropic, gemini or ollama; BASE_URL is the fake server's root.
#include <curl/curl.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

struct Counter {
  bool lines = false;  // NDJSON: every line is an event
  long events = 0;
  char last = 0;  // last non-CR byte of the previous read: a "\n\n" may straddle two reads
};

size_t onData(char* p, size_t size, size_t n, void* ud) {
  auto* c = static_cast<Counter*>(ud);
  size_t len = size * n;
  for (size_t i = 0; i < len; ++i) {
    if (p[i] == '\r') continue;  // Gemini ends events with CRLF CRLF
    if (p[i] == '\n' && (c->lines || c->last == '\n')) ++c->events;
    c->last = p[i];
  }
  return len;
}

double micros(const timeval& t) {
  return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_usec);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: raw_stream openai|anthropic|gemini|ollama BASE_URL WORDS\n");
    return 2;
  }
  std::string kind = argv[1], base = argv[2];
  std::string words;
  for (long i = 0, n = std::atol(argv[3]); i < n; ++i) words += "w ";
  std::string url, body;
  curl_slist* h = curl_slist_append(nullptr, "Content-Type: application/json");
  Counter c;
  if (kind == "openai") {
    url = base + "/v1/chat/completions";
    body = R"({"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},)"
           R"("messages":[{"role":"user","content":")" + words + R"("}]})";
    h = curl_slist_append(h, "Authorization: Bearer sk-bench");
  } else if (kind == "anthropic") {
    url = base + "/v1/messages";
    body = R"({"model":"claude-sonnet-4-5","max_tokens":4096,"stream":true,)"
           R"("messages":[{"role":"user","content":")" + words + R"("}]})";
    h = curl_slist_append(h, "x-api-key: sk-bench");
    h = curl_slist_append(h, "anthropic-version: 2023-06-01");
  } else if (kind == "gemini") {
    url = base + "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";
    body = R"({"contents":[{"role":"user","parts":[{"text":")" + words + R"("}]}]})";
    h = curl_slist_append(h, "x-goog-api-key: sk-bench");
  } else if (kind == "ollama") {
    url = base + "/api/chat";
    body = R"({"model":"llama3.2","stream":true,"messages":[{"role":"user","content":")" + words + R"("}]})";
    c.lines = true;
  } else {
    std::fprintf(stderr, "raw_stream: unknown kind '%s'\n", kind.c_str());
    return 2;
  }
  curl_global_init(CURL_GLOBAL_ALL);
  CURL* e = curl_easy_init();
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &onData);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &c);
  rusage before{}, after{};
  getrusage(RUSAGE_SELF, &before);
  CURLcode rc = curl_easy_perform(e);
  getrusage(RUSAGE_SELF, &after);
  if (rc != CURLE_OK) {
    std::fprintf(stderr, "raw_stream: %s\n", curl_easy_strerror(rc));
    return 1;
  }
  std::printf("events %ld user_us %.0f sys_us %.0f\n", c.events,
              micros(after.ru_utime) - micros(before.ru_utime),
              micros(after.ru_stime) - micros(before.ru_stime));
  curl_slist_free_all(h);
  curl_easy_cleanup(e);
  curl_global_cleanup();
  return 0;
}
