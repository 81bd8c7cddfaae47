// HttpClient: asynchronous HTTP(S) on libcurl's multi interface, driven by the Loop's io_context
// (curl socket/timer callbacks mapped onto asio descriptors and a steady_timer; no extra threads).
//
// Usage:
//   auto client = net::HttpClient::forLoop(loop);          // one client per Loop, shared
//   net::HttpRequest req;
//   req.method = "POST";
//   req.url = "https://api.example.com/v1/x";
//   req.headers = {{"content-type", "application/json"}};
//   req.body = R"({"a":1})";
//   req.totalTimeout = 30;
//   PromisePtr p = client->request(std::move(req));
//   p->onSettle([](const Promise& p) {
//     if (p.rejected()) { /* p.error().code: network_error, timeout, cancelled, ... */ return; }
//     const net::HttpResponse& r = net::responseOf(p.value());   // status 4xx/5xx is NOT an error
//   });
//
//   // Streaming: give onHeaders/onData; the body then goes to onData (not into response.body),
//   // and the promise resolves with the response (empty body) at the end of the stream.
//   req.onHeaders = [](int status, const net::Headers& h) {...};
//   req.onData = [&](std::string_view chunk) { sse.feed(chunk); };
//   // Error statuses (>= 400) and redirects not followed (3xx) are buffered into response.body
//   // instead of streamed, unless req.streamErrorBodies is true, so callers can parse the
//   // provider's JSON error.
//
//   // Permission: requests a spell makes pass a URL check (first URL and every redirect; a redirect
// to another origin also drops the credential headers, see secretHeaders):
//   req.checkUrl = net::netPermissionCheck(cx.run.permissions());
//   // The LLM layer leaves checkUrl empty for configured provider hosts (always allowed), or
//   // uses netPermissionCheck(perms, {"api.openai.com"}) to trust a list of hosts.
//
// Thread-safety: an HttpClient and its promises are loop-affine: call request() and settle /
// observe promises on the Loop's thread only. Callbacks (onHeaders, onData) run on that thread.
// Failure: request() never throws; every failure rejects the promise with an Error:
//   invalid_argument (bad URL, unsupported scheme, bad option), permission_denied (checkUrl),
//   network_error (DNS, connect, reset, partial transfer; retryable=true; TLS verification
//   failure retryable=false), timeout (connect, total or idle; retryable=true),
//   limit_exceeded (body larger than maxResponseBytes), cancelled (Promise::cancel), or the
//   Exception an onData/onHeaders callback threw (the transfer is aborted).
// Error details: {url, curl_code, curl_error} where known; timeouts add timeout = "connect",
// "total" or "idle".
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llmspell/core/error.hpp"
#include "llmspell/core/permissions.hpp"
#include "llmspell/core/value.hpp"
#include "llmspell/runtime/loop.hpp"
#include "llmspell/runtime/promise.hpp"

namespace llmspell::net {

// Header list. In responses names are lowercased and kept in arrival order; a header that
// appears several times (set-cookie) has several entries. In requests names are sent as given.
using Headers = std::vector<std::pair<std::string, std::string>>;

// First value of `name` (case-insensitive) or nullptr.
const std::string* findHeader(const Headers& h, std::string_view name);
// All values of `name` (case-insensitive), in order.
std::vector<std::string> headerValues(const Headers& h, std::string_view name);

// A parsed absolute URL (curl's URL API).
struct UrlParts {
  std::string scheme;  // "http" / "https" (lowercase)
  std::string host;    // lowercase; IPv6 without brackets
  int port = 0;        // explicit or the scheme's default (80 / 443)
  std::string path;    // "/a/b", never empty
  std::string query;   // without '?', may be empty
};
// Parses `url`; throws Exception(invalid_argument) for a malformed URL or a scheme other than
// http/https.
UrlParts parseUrl(std::string_view url);
// Resolves `location` (absolute or relative) against `base`; throws invalid_argument.
std::string resolveUrl(std::string_view base, std::string_view location);
// Appends `params` to `url`'s query, percent-encoding names and values; throws invalid_argument.
std::string appendQuery(std::string_view url,
                        const std::vector<std::pair<std::string, std::string>>& params);

// Authorization, Cookie, Proxy-Authorization, x-api-key, x-goog-api-key (any case): headers
// never sent to an origin the request was redirected to.
bool isCredentialHeader(std::string_view name);

// Called with each URL a request will reach (the first one and every redirect target) before
// connecting; throws an Exception (permission_denied) to refuse.
using UrlCheck = std::function<void(const UrlParts& url)>;

// A UrlCheck that asks `perms.checkNet(host, port)` (a copy of `perms` is kept). Hosts in
// `trustedHosts` ("host" or "host:port", e.g. configured LLM provider hosts) pass without a grant.
UrlCheck netPermissionCheck(const Permissions& perms, std::vector<std::string> trustedHosts = {});

struct HttpTiming {
  double dnsMs = 0;        // name lookup done (last hop)
  double connectMs = 0;    // TCP connected
  double tlsMs = 0;        // TLS handshake done (0 for http)
  double firstByteMs = 0;  // first response byte (last hop)
  double totalMs = 0;      // whole request including redirects, as measured by the client
};

// The result of a request. Stored in a Value as a HostObject (typeName "http_response").
class HttpResponse : public HostObject {
 public:
  int status = 0;
  Headers headers;             // lowercased names, multi-valued preserved
  std::string body;            // empty for streamed (onData) responses with status < 400
  std::string effectiveUrl;    // after redirects
  int redirects = 0;           // redirects followed
  uint64_t bytesReceived = 0;  // body bytes (decoded), streamed or buffered
  HttpTiming timing;

  std::string_view typeName() const override { return "http_response"; }
  const std::string* header(std::string_view name) const { return findHeader(headers, name); }
};
using HttpResponsePtr = std::shared_ptr<HttpResponse>;

// The response inside a fulfilled request() promise's value. Throws internal if `v` is not one.
const HttpResponse& responseOf(const Value& v);
HttpResponsePtr responsePtrOf(const Value& v);

struct HttpRequest {
  std::string method = "GET";  // any token; HEAD sends no body and reads none
  std::string url;             // absolute http:// or https:// URL
  Headers headers;             // sent as given; a user-agent is added when absent
  std::string body;            // sent when non-empty (or always for POST/PUT/PATCH)

  double connectTimeout = 30;  // seconds to establish the connection; 0 = curl's default (300 s)
  double totalTimeout = 0;     // seconds for the whole transfer (each hop); 0 = none
  double idleTimeout = 0;      // max seconds without receiving a byte (headers or body); 0 = none
  uint64_t maxResponseBytes = 0;  // max body bytes (after decoding); 0 = unlimited
  // Follow 3xx redirects with a Location. Default: on for GET/HEAD, off for other methods.
  // 303 (and 301/302 after POST) continue as GET without a body; 307/308 keep method and body.
  std::optional<bool> followRedirects;
  int maxRedirects = 5;   // more -> network_error "too many redirects"
  bool verifyTls = true;  // peer and host verification; keep on outside tests

  UrlCheck checkUrl;  // empty = no check (trusted callers only)
  // Header names that carry secrets besides the standard ones (isCredentialHeader). On a
  // redirect to another origin (scheme, host or port differ) these and the standard credential
  // headers are dropped, for that hop and every later one (as libcurl and httpx do).
  std::vector<std::string> secretHeaders;

  // Streaming. onHeaders runs once with the final response's status and headers (not for
  // followed redirects or 1xx); onData receives body bytes as they arrive (any split). When
  // onData is set the body is not accumulated, except for status >= 300 unless streamErrorBodies.
  // A callback may throw an Exception to abort the transfer (the promise rejects with it), and
  // may cancel the request's promise. A 3xx answer that is not followed is buffered like an error.
  std::function<void(int status, const Headers& headers)> onHeaders;
  std::function<void(std::string_view chunk)> onData;
  bool streamErrorBodies = false;
};

class HttpClient : public std::enable_shared_from_this<HttpClient> {
 public:
  // The client of `loop`, created on first use; all callers of one Loop share it. The client
  // lives while someone holds the returned pointer (or a request is in flight through it).
  // Must be called on the loop's thread. The Loop must outlive the client.
  static std::shared_ptr<HttpClient> forLoop(Loop& loop);

  explicit HttpClient(Loop& loop);
  ~HttpClient();  // aborts transfers still in flight (their promises reject with cancelled)
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Starts a transfer. Returns a promise fulfilled with a Value holding an HttpResponse (any
  // HTTP status) or rejected with an Error (see the top of this file). Cancelling the promise
  // removes the transfer immediately and closes its connection. Never throws.
  PromisePtr request(HttpRequest req);

  // Transfers in flight.
  size_t active() const;
  // curl easy handles created so far: finished requests hand theirs to the next ones (and
  // their connections stay in the client's cache), so sequential requests create one.
  uint64_t handlesCreated() const;

  Loop& loop() { return loop_; }

  struct Impl;

 private:
  Loop& loop_;
  std::shared_ptr<Impl> impl_;
};

// Maps a libcurl result to an Error with an API.md code (see the top of this file).
Error curlError(int curlCode, std::string_view detail, std::string_view url);

}  // namespace llmspell::net
