/* The physical floor of the agent workload (issue #13): the same HTTP exchanges as
 * workload.lua, made with libcurl alone and nothing else. N runs, C in flight, each run two
 * POSTs to the fake OpenAI server: the prompt with the two tools, then the history with the
 * assistant's tool calls and the two tool results. Replies are read whole; the only parsing is
 * finding the two tool-call ids in the first reply (the second request must answer them) and
 * checking the final answer text is there. No JSON library, no event loop of its own
 * (curl_multi_poll), no script engine: what is left is HTTP and the kernel.
 *
 *   raw_agent URL N C STREAM        e.g. raw_agent http://127.0.0.1:8089/v1 200 50 1
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOOLS                                                                                                  \
  "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Get the current " \
  "weather for a city.\",\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\","    \
  "\"description\":\"City name\"}},\"required\":[\"city\"],\"additionalProperties\":false}}},{\"type\":"        \
  "\"function\",\"function\":{\"name\":\"add\",\"description\":\"Add two numbers and return the sum.\","        \
  "\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"number\"},\"b\":{\"type\":\"number\"}}," \
  "\"required\":[\"a\",\"b\"],\"additionalProperties\":false}}}]"
#define PROMPT "{\"role\":\"user\",\"content\":\"What is the weather in Paris, and what is 2+3? Use the tools.\"}"
#define ANSWER "It is sunny in Paris and 2+3=5."

typedef struct {
  CURL* easy;
  char* reply;
  size_t len, cap;
  char body[4096];
  int step; /* 0: first call in flight, 1: second */
} Run;

static int stream_on;
static struct curl_slist* headers;

static size_t on_data(char* p, size_t size, size_t n, void* user) {
  Run* r = user;
  size_t k = size * n;
  if (r->len + k + 1 > r->cap) {
    r->cap = (r->len + k + 1) * 2;
    r->reply = realloc(r->reply, r->cap);
  }
  memcpy(r->reply + r->len, p, k);
  r->len += k;
  r->reply[r->len] = 0;
  return k;
}

static const char* stream_opts(void) {
  return stream_on ? ",\"stream\":true,\"stream_options\":{\"include_usage\":true}" : "";
}

static void post(CURLM* multi, Run* r) {
  r->len = 0;
  curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
  curl_multi_add_handle(multi, r->easy);
}

static void first(CURLM* multi, Run* r) {
  r->step = 0;
  snprintf(r->body, sizeof r->body, "{\"model\":\"gpt-4o-mini\",\"messages\":[" PROMPT "]," TOOLS "%s}", stream_opts());
  post(multi, r);
}

/* The two "call_<24 hex>" ids of the first reply, in order. */
static int tool_ids(const char* s, char ids[2][32]) {
  int found = 0;
  for (const char* p = strstr(s, "\"call_"); p && found < 2; p = strstr(p + 1, "\"call_")) {
    if (found == 1 && strncmp(p + 1, ids[0], 29) == 0) continue;
    memcpy(ids[found], p + 1, 29);
    ids[found][29] = 0;
    found++;
  }
  return found;
}

static int second(CURLM* multi, Run* r) {
  char ids[2][32];
  if (tool_ids(r->reply, ids) != 2) return 0;
  r->step = 1;
  snprintf(r->body, sizeof r->body,
           "{\"model\":\"gpt-4o-mini\",\"messages\":[" PROMPT
           ",{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
           "{\"id\":\"%s\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}},"
           "{\"id\":\"%s\",\"type\":\"function\",\"function\":{\"name\":\"add\",\"arguments\":\"{\\\"a\\\":2,\\\"b\\\":3}\"}}]},"
           "{\"role\":\"tool\",\"tool_call_id\":\"%s\",\"content\":\"Paris: sunny, 22 C\"},"
           "{\"role\":\"tool\",\"tool_call_id\":\"%s\",\"content\":\"5\"}]," TOOLS "%s}",
           ids[0], ids[1], ids[0], ids[1], stream_opts());
  post(multi, r);
  return 1;
}

/* The final answer: whole in the reply, or (streamed) its pieces in order. */
static int answered(const char* s) {
  if (!stream_on) return strstr(s, ANSWER) != NULL;
  char text[256];
  size_t n = 0;
  for (const char* p = strstr(s, "\"content\":\""); p; p = strstr(p + 1, "\"content\":\"")) {
    const char* q = p + 11;
    while (*q && *q != '"' && n + 1 < sizeof text) text[n++] = *q++;
  }
  text[n] = 0;
  return strcmp(text, ANSWER) == 0;
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: raw_agent URL N C STREAM\n");
    return 2;
  }
  char url[512];
  snprintf(url, sizeof url, "%s/chat/completions", argv[1]);
  int n = atoi(argv[2]), c = atoi(argv[3]);
  stream_on = atoi(argv[4]);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  headers = curl_slist_append(NULL, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Authorization: Bearer bench");
  CURLM* multi = curl_multi_init();
  Run* runs = calloc((size_t)c, sizeof(Run));
  int started = 0, finished = 0, bad = 0;
  for (int i = 0; i < c && started < n; i++, started++) {
    runs[i].easy = curl_easy_init();
    curl_easy_setopt(runs[i].easy, CURLOPT_URL, url);
    curl_easy_setopt(runs[i].easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(runs[i].easy, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(runs[i].easy, CURLOPT_WRITEDATA, &runs[i]);
    curl_easy_setopt(runs[i].easy, CURLOPT_PRIVATE, &runs[i]);
    first(multi, &runs[i]);
  }
  while (finished < n) {
    int running = 0, left = 0;
    curl_multi_perform(multi, &running);
    CURLMsg* m;
    while ((m = curl_multi_info_read(multi, &left))) {
      if (m->msg != CURLMSG_DONE) continue;
      Run* r;
      curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char**)&r);
      curl_multi_remove_handle(multi, r->easy);
      long status = 0;
      curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
      if (m->data.result != CURLE_OK || status != 200) {
        fprintf(stderr, "request failed: %s, HTTP %ld\n", curl_easy_strerror(m->data.result), status);
        return 1;
      }
      if (r->step == 0) {
        if (!second(multi, r)) {
          fprintf(stderr, "no tool calls in the first reply\n");
          return 1;
        }
        continue;
      }
      if (!answered(r->reply)) bad++;
      finished++;
      if (started < n) {
        started++;
        first(multi, r);
      }
    }
    if (finished < n) curl_multi_poll(multi, NULL, 0, 1000, NULL);
  }
  printf("{\"peer\":\"raw-libcurl\",\"n\":%d,\"c\":%d,\"stream\":%d,\"ok\":%s}\n", n, c, stream_on, bad ? "false" : "true");
  return bad ? 1 : 0;
}
