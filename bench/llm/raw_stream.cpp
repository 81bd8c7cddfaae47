// The floor for bench/llm/streams.sh: the same streamed chat reply read by libcurl alone, with
// a write callback that only counts SSE events. Whatever llmspell spends per chunk above this
// (same libcurl, same fake server, same run) is its own overhead from socket to script callback.
//   raw_stream URL WORDS   -> prints "events N user_us U sys_us S"
#include <curl/curl.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

struct Counter {
  long events = 0;
  char last = 0;  // last byte of the previous read: a "\n\n" may straddle two reads
};

size_t onData(char* p, size_t size, size_t n, void* ud) {
  auto* c = static_cast<Counter*>(ud);
  size_t len = size * n;
  for (size_t i = 0; i < len; ++i) {
    if (p[i] == '\n' && c->last == '\n') ++c->events;
    c->last = p[i];
  }
  return len;
}

double micros(const timeval& t) {
  return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_usec);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: raw_stream URL WORDS\n");
    return 2;
  }
  std::string words;
  for (long i = 0, n = std::atol(argv[2]); i < n; ++i) words += "w ";
  std::string body = R"({"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},)"
                     R"("messages":[{"role":"user","content":")" + words + R"("}]})";
  curl_global_init(CURL_GLOBAL_ALL);
  CURL* e = curl_easy_init();
  curl_slist* h = curl_slist_append(nullptr, "Content-Type: application/json");
  h = curl_slist_append(h, "Authorization: Bearer sk-bench");
  Counter c;
  curl_easy_setopt(e, CURLOPT_URL, argv[1]);
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
