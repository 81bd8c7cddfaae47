// `http` namespace: spell-level HTTP requests (http.request / get / post) on the loop's shared
// net::HttpClient. Every request, and every redirect it follows, is checked against --allow-net;
// credential headers stay behind when a redirect changes the origin.
#include <algorithm>

#include "llmspell/bridge/registry.hpp"
#include "llmspell/core/convert.hpp"
#include "llmspell/net/http.hpp"

namespace llmspell {

namespace {

// Spells get a response-size cap by default so a runaway download cannot exhaust memory;
// opts.max_bytes raises or lowers it. Either way the body also counts against the spell's
// memory cap as it arrives (see receiveBody).
constexpr uint64_t kDefaultMaxBytes = 64ull << 20;

std::string scalarText(const Value& v, std::string_view what) {
  switch (v.kind()) {
    case ValueKind::kString: return v.asString();
    case ValueKind::kInt: return std::to_string(v.asInt());
    case ValueKind::kDouble: {
      double d = v.asDouble();
      if (d == static_cast<double>(static_cast<int64_t>(d)))
        return std::to_string(static_cast<int64_t>(d));
      return toJsonText(v);
    }
    case ValueKind::kBool: return v.asBool() ? "true" : "false";
    default:
      fail(codes::kInvalidArgument,
           std::string(what) + " must be a string, number or boolean, got " + v.describe());
  }
}

double seconds(const Value& opts, std::string_view key, double dflt) {
  const Value& v = opts.get(key);
  if (v.isNull()) return dflt;
  if (!v.isNumber() || v.asNumber() < 0)
    fail(codes::kInvalidArgument, "http: opts." + std::string(key) +
                                      " must be a non-negative number of seconds, got " +
                                      v.describe());
  return v.asNumber();
}

bool hasHeader(const net::Headers& h, std::string_view name) {
  return net::findHeader(h, name) != nullptr;
}

// Builds the C++ request from the script options. `method`/`url`/`body` override opts when set.
net::HttpRequest buildRequest(CallContext& cx, const Value& opts, std::string_view method,
                              const Value* url, const Value* body) {
  net::HttpRequest rq;
  const Value& u = url ? *url : opts.get("url");
  if (!u.isString() || u.asString().empty())
    fail(codes::kInvalidArgument,
         std::string(cx.qualifiedName) + ": url must be a non-empty string, got " + u.describe());
  rq.url = u.asString();

  rq.method = method.empty() ? opts.getString("method", "GET") : std::string(method);
  std::transform(rq.method.begin(), rq.method.end(), rq.method.begin(), ::toupper);

  const Value& hs = opts.get("headers");
  if (hs.isObject()) {
    for (const auto& [k, v] : hs.asObject()) {
      if (v.isArray()) {
        for (const auto& x : v.asArray())
          rq.headers.emplace_back(k, scalarText(x, "header '" + k + "'"));
      } else {
        rq.headers.emplace_back(k, scalarText(v, "header '" + k + "'"));
      }
    }
  } else if (!hs.isNull()) {
    fail(codes::kInvalidArgument,
         "http: opts.headers must be a table of name = value, got " + hs.describe());
  }

  const Value& q = opts.get("query");
  if (q.isObject()) {
    std::vector<std::pair<std::string, std::string>> params;
    for (const auto& [k, v] : q.asObject()) {
      if (v.isArray()) {
        for (const auto& x : v.asArray())
          params.emplace_back(k, scalarText(x, "query '" + k + "'"));
      } else {
        params.emplace_back(k, scalarText(v, "query '" + k + "'"));
      }
    }
    rq.url = net::appendQuery(rq.url, params);
  } else if (!q.isNull()) {
    fail(codes::kInvalidArgument, "http: opts.query must be a table, got " + q.describe());
  }

  const Value& b = body ? *body : opts.get("body");
  switch (b.kind()) {
    case ValueKind::kNull: break;
    case ValueKind::kString: rq.body = b.asString(); break;
    case ValueKind::kBytes: rq.body = b.asBytes().data; break;
    case ValueKind::kObject:
    case ValueKind::kArray:
      rq.body = toJsonText(b);
      if (!hasHeader(rq.headers, "content-type"))
        rq.headers.emplace_back("content-type", "application/json");
      break;
    default:
      fail(codes::kInvalidArgument,
           "http: body must be a string or a table (sent as JSON), got " + b.describe());
  }

  rq.totalTimeout = seconds(opts, "timeout", 0);
  rq.connectTimeout = seconds(opts, "connect_timeout", 30);
  rq.idleTimeout = seconds(opts, "idle_timeout", 0);
  const Value& mb = opts.get("max_bytes");
  if (mb.isNull()) {
    rq.maxResponseBytes = kDefaultMaxBytes;
  } else if (mb.isNumber() && mb.asNumber() >= 1) {
    rq.maxResponseBytes = static_cast<uint64_t>(mb.asNumber());
  } else {
    fail(codes::kInvalidArgument,
         "http: opts.max_bytes must be a positive number, got " + mb.describe());
  }
  const Value& fr = opts.get("follow_redirects");
  if (fr.isBool())
    rq.followRedirects = fr.asBool();
  else if (!fr.isNull())
    fail(codes::kInvalidArgument,
         "http: opts.follow_redirects must be a boolean, got " + fr.describe());
  const Value& mr = opts.get("max_redirects");
  if (mr.isNumber()) rq.maxRedirects = static_cast<int>(mr.asNumber());
  const Value& sh = opts.get("secret_headers");
  if (sh.isArray()) {
    for (const auto& x : sh.asArray()) {
      if (!x.isString())
        fail(codes::kInvalidArgument,
             "http: opts.secret_headers must be a list of header names, got " + x.describe());
      rq.secretHeaders.push_back(x.asString());
    }
  } else if (!sh.isNull()) {
    fail(codes::kInvalidArgument,
         "http: opts.secret_headers must be a list of header names, got " + sh.describe());
  }

  // Explicit host check: the registry only knows that these functions need --allow-net, not
  // which host a call reaches. The check runs before connecting and again for every redirect
  // target, so a granted host cannot bounce the spell to one that is not. A redirect to another
  // origin does not carry the credential headers along (net::isCredentialHeader, secret_headers).
  rq.checkUrl = net::netPermissionCheck(cx.run.permissions());
  return rq;
}

bool isJsonType(const std::string* ct) {
  if (!ct) return false;
  std::string t = *ct;
  std::transform(t.begin(), t.end(), t.begin(), ::tolower);
  t = t.substr(0, t.find(';'));
  return t == "application/json" || (t.size() > 5 && t.compare(t.size() - 5, 5, "+json") == 0) ||
         t == "text/json";
}

// The promise of one spell request. It owns the memory the response takes outside the VM, so
// that memory counts against the spell's cap for as long as the promise (and with it the
// result) is alive: while the body arrives, and after, until the script lets go of it.
struct HttpPromise final : Promise {
  HttpPromise(MemoryBudgetPtr budget, std::string what) : hold(std::move(budget), std::move(what)) {}
  MemoryHold hold;
  std::string body;
};

// Receives the body into `p->body` instead of the response, so that each chunk is counted
// before it is stored: concurrent requests share the cap, and a body that would not fit stops
// the spell (limit_exceeded) instead of being read. Storage grows by doubling, each step held
// in advance; near the cap, only what the chunk needs.
void receiveBody(net::HttpRequest& rq, const std::shared_ptr<HttpPromise>& p,
                 MemoryBudgetPtr budget) {
  rq.streamErrorBodies = true;  // error bodies too: every status is received here
  std::weak_ptr<HttpPromise> w = p;
  rq.onData = [w, budget = std::move(budget)](std::string_view chunk) {
    auto p = w.lock();
    if (!p) return;
    std::string& body = p->body;
    size_t need = body.size() + chunk.size();
    if (need > body.capacity()) {
      size_t cap = std::max(need, 2 * body.capacity());
      if (cap - p->hold.bytes() > budget->available()) cap = need;
      if (cap > p->hold.bytes()) p->hold.grow(cap - p->hold.bytes());
      body.reserve(cap);
    }
    body.append(chunk);
  };
}

// The script-visible result table.
Value toResult(const net::HttpResponse& r, std::string body, MemoryBudget& mem) {
  Value headers = Value::object();
  Value list = Value::array();
  for (const auto& [k, v] : r.headers) {
    Value* prev = headers.asObject().find(k);
    if (prev)
      prev->asString() += ", " + v;  // RFC 9110 list join
    else
      headers.asObject().set(k, v);
    list.asArray().push(Value::object({{"name", k}, {"value", v}}));
  }
  Value json;
  if (isJsonType(r.header("content-type")) && !body.empty()) {
    try {
      json = mem.decodeBounded("the decoded JSON of the response body", 0,
                               [&](size_t maxNodes) { return parseJson(body, maxNodes); });
    } catch (const Exception& e) {
      if (e.error().code == codes::kLimitExceeded) throw;
      json = Value();  // a server that mislabels its body: keep body, json stays null
    }
  }
  return Value::object({{"status", r.status},
                        {"ok", r.status >= 200 && r.status < 300},
                        {"headers", headers},
                        {"header_list", list},
                        {"body", std::move(body)},
                        {"json", json},
                        {"url", r.effectiveUrl},
                        {"redirects", r.redirects},
                        {"elapsed_ms", r.timing.totalMs}});
}

PromisePtr send(CallContext& cx, net::HttpRequest rq) {
  auto& client = cx.run.service<net::HttpClient>([&] { return net::HttpClient::forLoop(cx.loop); });
  auto out = std::make_shared<HttpPromise>(cx.run.memoryPtr(),
                                           std::string(cx.qualifiedName) + " response body");
  receiveBody(rq, out, cx.run.memoryPtr());
  PromisePtr inner = client.request(std::move(rq));
  inner->onSettle([out, mem = cx.run.memoryPtr()](const Promise& p) {
    if (!out->pending()) return;
    if (p.rejected()) {
      out->reject(p.error());
      return;
    }
    try {
      out->resolve(toResult(net::responseOf(p.value()), std::move(out->body), *mem));
    } catch (...) {
      out->rejectCurrentException();
    }
  });
  // Cancelling the script's promise (await timeout, opts.timeout, run cancel) aborts the transfer.
  out->setCanceller([inner] { inner->cancel(); });
  return out;
}

constexpr std::string_view kOptsDoc =
    "url, method, headers (table; a list value sends the header several times), body (string, "
    "or a table sent as JSON), query (table), timeout (s, whole request), connect_timeout (s), "
    "idle_timeout (s without data), max_bytes (default 64 MiB; the body also counts against the "
    "spell's memory limit as it arrives), follow_redirects (default true for GET/HEAD), "
    "max_redirects (default 5), secret_headers (names of headers that, like authorization, "
    "cookie, proxy-authorization, x-api-key and x-goog-api-key, are not sent on after a redirect "
    "to another scheme, host or port)";

constexpr std::string_view kReturns =
    "{status, ok, headers (lowercased names; repeated headers joined with \", \"), header_list "
    "({name, value} in order), body, json (decoded when the content-type is JSON, else null), url "
    "(after redirects), redirects, elapsed_ms}. HTTP error statuses are results, not errors; "
    "network failures raise network_error, timeouts timeout, a too large body limit_exceeded";

}  // namespace

void llmspell_register_http(Registry& r) {
  r.fn("http", "request")
      .param("opts", R"({"type":"object"})", std::string(kOptsDoc))
      .returns(std::string(kReturns))
      .doc("Sends an HTTP request to a host granted with --allow-net")
      .permission(Permission::kNet)
      .async([](CallContext& cx, Args a) -> PromisePtr {
        return send(cx, buildRequest(cx, a[0], "", nullptr, nullptr));
      });

  r.fn("http", "get")
      .param("url", R"({"type":"string"})", "absolute http(s) URL")
      .opt("opts", R"({"type":"object"})", std::string(kOptsDoc))
      .returns(std::string(kReturns))
      .doc("GET a URL (host granted with --allow-net)")
      .permission(Permission::kNet)
      .async([](CallContext& cx, Args a) -> PromisePtr {
        Value opts = a[1].isNull() ? Value::object() : a[1];
        return send(cx, buildRequest(cx, opts, "GET", &a[0], nullptr));
      });

  r.fn("http", "post")
      .param("url", R"({"type":"string"})", "absolute http(s) URL")
      .opt("body", R"({"type":["string","object","array","bytes","null"]})",
           "a string, or a table sent as JSON")
      .opt("opts", R"({"type":"object"})", std::string(kOptsDoc))
      .returns(std::string(kReturns))
      .doc("POST a body to a URL (host granted with --allow-net)")
      .permission(Permission::kNet)
      .async([](CallContext& cx, Args a) -> PromisePtr {
        Value opts = a[2].isNull() ? Value::object() : a[2];
        return send(cx, buildRequest(cx, opts, "POST", &a[0], &a[1]));
      });
}

}  // namespace llmspell
