// HttpClient: libcurl multi driven by asio. curl tells us which sockets to watch (socket callback)
// and when to call it back (timer callback); asio waits and we hand readiness back with
// curl_multi_socket_action. Redirects are followed here, not by curl, so every hop passes the
// request's URL check (permissions) before a connection is made.
#include "llmspell/net/http.hpp"

#include <curl/curl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "llmspell/runtime/asio.hpp"

namespace llmspell::net {

namespace {

using Clock = std::chrono::steady_clock;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

void globalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_ALL); });
}

// RAII for curl's URL handle.
struct UrlHandle {
  CURLU* h = curl_url();
  ~UrlHandle() { curl_url_cleanup(h); }
  std::string get(CURLUPart part, unsigned flags = 0) const {
    char* out = nullptr;
    if (curl_url_get(h, part, &out, flags) != CURLUE_OK || !out) return {};
    std::string s(out);
    curl_free(out);
    return s;
  }
};

double secondsToMsLong(double s) {
  return s * 1000.0;
}

bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

}  // namespace

const std::string* findHeader(const Headers& h, std::string_view name) {
  for (const auto& [k, v] : h)
    if (iequals(k, name)) return &v;
  return nullptr;
}

std::vector<std::string> headerValues(const Headers& h, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [k, v] : h)
    if (iequals(k, name)) out.push_back(v);
  return out;
}

UrlParts parseUrl(std::string_view url) {
  globalInit();
  if (url.find_first_of(std::string_view("\r\n\0 ", 4)) != std::string_view::npos)
    fail(codes::kInvalidArgument,
         "invalid URL '" + std::string(url) + "': contains whitespace or control characters");
  UrlHandle u;
  std::string s(url);
  CURLUcode rc = curl_url_set(u.h, CURLUPART_URL, s.c_str(), 0);
  if (rc != CURLUE_OK)
    fail(codes::kInvalidArgument, "invalid URL '" + s + "': " + curl_url_strerror(rc) +
                                      " (expected http://host/path or https://host/path)");
  UrlParts p;
  p.scheme = lower(u.get(CURLUPART_SCHEME));
  if (p.scheme != "http" && p.scheme != "https")
    fail(codes::kInvalidArgument, "unsupported URL scheme '" + p.scheme + "' in '" + s +
                                      "': only http and https are allowed");
  p.host = lower(u.get(CURLUPART_HOST));
  if (p.host.size() >= 2 && p.host.front() == '[' && p.host.back() == ']')
    p.host = p.host.substr(1, p.host.size() - 2);
  if (p.host.empty()) fail(codes::kInvalidArgument, "invalid URL '" + s + "': no host");
  std::string port = u.get(CURLUPART_PORT, CURLU_DEFAULT_PORT);
  p.port = port.empty() ? (p.scheme == "https" ? 443 : 80) : std::atoi(port.c_str());
  p.path = u.get(CURLUPART_PATH);
  if (p.path.empty()) p.path = "/";
  p.query = u.get(CURLUPART_QUERY);
  return p;
}

std::string resolveUrl(std::string_view base, std::string_view location) {
  globalInit();
  UrlHandle u;
  std::string b(base), l(location);
  if (curl_url_set(u.h, CURLUPART_URL, b.c_str(), 0) != CURLUE_OK)
    fail(codes::kInvalidArgument, "invalid base URL '" + b + "'");
  CURLUcode rc = curl_url_set(u.h, CURLUPART_URL, l.c_str(), 0);
  if (rc != CURLUE_OK)
    fail(codes::kInvalidArgument,
         "invalid redirect location '" + l + "': " + curl_url_strerror(rc));
  return u.get(CURLUPART_URL);
}

std::string appendQuery(std::string_view url,
                        const std::vector<std::pair<std::string, std::string>>& params) {
  globalInit();
  UrlHandle u;
  std::string s(url);
  CURLUcode rc = curl_url_set(u.h, CURLUPART_URL, s.c_str(), 0);
  if (rc != CURLUE_OK)
    fail(codes::kInvalidArgument, "invalid URL '" + s + "': " + curl_url_strerror(rc));
  auto esc = [](const std::string& x) {
    char* e = curl_easy_escape(nullptr, x.data(), static_cast<int>(x.size()));
    std::string out = e ? e : "";
    curl_free(e);
    return out;
  };
  for (const auto& [k, v] : params) {
    // Encoded here (RFC 3986, space as %20); curl's URLENCODE would use '+' for spaces.
    std::string item = esc(k) + "=" + esc(v);
    rc = curl_url_set(u.h, CURLUPART_QUERY, item.c_str(), CURLU_APPENDQUERY);
    if (rc != CURLUE_OK)
      fail(codes::kInvalidArgument,
           "cannot add query parameter '" + k + "': " + curl_url_strerror(rc));
  }
  return u.get(CURLUPART_URL);
}

bool isCredentialHeader(std::string_view name) {
  for (std::string_view c : {"authorization", "cookie", "proxy-authorization", "x-api-key", "x-goog-api-key"})
    if (iequals(name, c)) return true;
  return false;
}

UrlCheck netPermissionCheck(const Permissions& perms, std::vector<std::string> trustedHosts) {
  for (auto& h : trustedHosts) h = lower(h);
  return [perms, trusted = std::move(trustedHosts)](const UrlParts& u) {
    for (const auto& t : trusted) {
      if (t == u.host || t == u.host + ":" + std::to_string(u.port)) return;
    }
    perms.checkNet(u.host, u.port);
  };
}

const HttpResponse& responseOf(const Value& v) {
  return *responsePtrOf(v);
}

HttpResponsePtr responsePtrOf(const Value& v) {
  if (v.isHandle()) {
    if (auto r = std::dynamic_pointer_cast<HttpResponse>(v.asHandle())) return r;
  }
  fail(codes::kInternal, "expected an http_response value, got " + v.describe());
}

Error curlError(int code, std::string_view detail, std::string_view url) {
  auto rc = static_cast<CURLcode>(code);
  std::string what = detail.empty() ? curl_easy_strerror(rc) : std::string(detail);
  std::string u(url);
  Error e;
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
      e = Error(codes::kTimeout, "request to " + u + " timed out: " + what, true);
      break;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      e = Error(codes::kNetworkError, "cannot resolve host for " + u + ": " + what, true);
      break;
    case CURLE_COULDNT_CONNECT:
      e = Error(codes::kNetworkError, "cannot connect to " + u + ": " + what, true);
      break;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_WEIRD_SERVER_REPLY:
      e = Error(codes::kNetworkError, "connection to " + u + " failed: " + what, true);
      break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      e = Error(codes::kNetworkError, "TLS verification failed for " + u + ": " + what, false);
      break;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      e = Error(codes::kInvalidArgument, "invalid URL " + u + ": " + what, false);
      break;
    case CURLE_FILESIZE_EXCEEDED:
      e = Error(codes::kLimitExceeded, "response from " + u + " is larger than the allowed size",
                false);
      break;
    case CURLE_TOO_MANY_REDIRECTS:
      e = Error(codes::kNetworkError, "too many redirects from " + u, false);
      break;
    default: e = Error(codes::kNetworkError, "request to " + u + " failed: " + what, false); break;
  }
  e.details = Value::object({{"url", u}, {"curl_code", code}, {"curl_error", what}});
  return e;
}

// ---------------------------------------------------------------------------------------------

namespace {

struct Sock {
  Sock(asio::io_context& io, curl_socket_t s) : fd(s), sd(io, s) {}
  curl_socket_t fd;
  asio::posix::stream_descriptor sd;
  int what = 0;
  bool readArmed = false;
  bool writeArmed = false;
  bool outRegistered = false;  // a write wait was started: asio's registration includes EPOLLOUT
  bool removed = false;
};

struct Transfer {
  uint64_t id = 0;
  CURL* easy = nullptr;
  curl_slist* headerList = nullptr;
  char errbuf[CURL_ERROR_SIZE] = {0};
  HttpRequest req;
  PromisePtr promise;
  HttpResponsePtr resp = std::make_shared<HttpResponse>();
  std::shared_ptr<HttpClient> owner;  // keeps the client alive while in flight

  std::string url;     // current hop
  std::string method;  // current hop
  bool sendBody = true;
  bool follow = false;

  // Per-hop state.
  int hopStatus = 0;
  Headers hopHeaders;
  bool headersDone = false;
  bool followingHop = false;
  bool streamBody = false;

  bool done = false;                // settled or aborted: curl callbacks refuse more data
  bool reusable = false;            // finished cleanly: the easy handle may serve another request
  std::optional<Error> abortError;  // set inside a curl callback; reported at completion
  Clock::time_point start, lastActivity;
  Clock::duration idle{};  // idle timeout; zero = none

  ~Transfer() {
    if (headerList) curl_slist_free_all(headerList);
    if (easy) curl_easy_cleanup(easy);
  }
};

}  // namespace

struct HttpClient::Impl : std::enable_shared_from_this<HttpClient::Impl> {
  explicit Impl(Loop& l) : loop(l), io(l.io()), timer(l.io()) {
    globalInit();
    multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &Impl::socketCb);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &Impl::timerCb);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
  }

  ~Impl() { shutdown(); }

  // Idle easy handles kept for the next requests: curl_easy_init and curl_easy_cleanup cost
  // about 20K instructions a request. Bounded so a burst of requests does not pin their memory.
  static constexpr size_t kMaxIdleHandles = 32;

  Loop& loop;
  asio::io_context& io;
  // One timer serves curl's multi timeout and every transfer's idle timeout. It is armed lazily:
  // a deadline later than the armed one is only recorded (the timer fires early, finds nothing
  // due and re-arms), so requests starting and ending do not re-arm it (each re-arm of the
  // earliest asio timer is a timerfd_settime syscall).
  asio::steady_timer timer;
  bool timerArmed = false;
  Clock::time_point timerAt;                // when the armed timer fires
  std::optional<Clock::time_point> curlDue;  // curl's next timeout
  std::optional<Clock::time_point> idleDue;  // no idle timeout expires before this
  bool kickPosted = false;                   // a zero-ms curl timeout is queued on the loop
  CURLM* multi = nullptr;
  std::vector<CURL*> idleHandles;
  uint64_t handlesCreated = 0;
  std::unordered_map<curl_socket_t, std::shared_ptr<Sock>> socks;
  std::unordered_set<curl_socket_t> connSocks;  // opened by openSocketCb, not yet closed
  std::map<uint64_t, std::shared_ptr<Transfer>> transfers;
  uint64_t nextId = 1;
  int depth = 0;  // > 0 while inside curl_multi_socket_action (curl forbids re-entry)
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;

  void shutdown() {
    if (!multi) return;
    auto all = std::move(transfers);
    transfers.clear();
    for (auto& [id, t] : all) {
      t->done = true;
      curl_multi_remove_handle(multi, t->easy);
      t->owner.reset();
      if (t->promise->pending()) t->promise->reject(Error(codes::kCancelled, "HTTP client closed"));
    }
    all.clear();
    for (CURL* e : idleHandles) curl_easy_cleanup(e);
    idleHandles.clear();
    curl_multi_cleanup(multi);  // closes cached connections (closeSocketCb forgets them)
    multi = nullptr;
    for (auto& [fd, s] : socks) {
      s->removed = true;
      s->sd.release();
    }
    socks.clear();
    timer.cancel();
    timerArmed = false;
    curlDue.reset();
    idleDue.reset();
    work.reset();
  }

  CURL* acquireHandle() {
    if (!idleHandles.empty()) {
      CURL* e = idleHandles.back();
      idleHandles.pop_back();
      return e;
    }
    ++handlesCreated;
    return curl_easy_init();
  }

  // Takes back a handle no longer in the multi handle. curl_easy_reset clears every option
  // (URL, headers, body, timeouts, callbacks and their data, size limits) so nothing of this
  // request reaches the next one; connections stay in the multi handle's cache either way.
  // A handle whose transfer failed or was aborted is freed instead: whatever state a failure
  // left (a resolver thread still running) goes with it.
  void releaseHandle(CURL* e, bool reusable) {
    if (!e) return;
    if (!reusable || !multi || idleHandles.size() >= kMaxIdleHandles) {
      curl_easy_cleanup(e);
      return;
    }
    curl_easy_reset(e);
    idleHandles.push_back(e);
  }

  // --- curl -> asio ---------------------------------------------------------------------------

  // curl stops watching a connection's socket when a transfer on it ends (CURL_POLL_REMOVE) and
  // watches it again when the connection is reused, usually for the very next request. The
  // descriptor stays registered with asio meanwhile (registering it again costs an epoll_ctl ADD,
  // a FIONBIO ioctl and a DEL per request); it goes when curl closes the socket (closeSocketCb).
  static int socketCb(CURL*, curl_socket_t s, int what, void* userp, void*) {
    auto* self = static_cast<Impl*>(userp);
    if (what == CURL_POLL_REMOVE) {
      auto it = self->socks.find(s);
      if (it == self->socks.end()) return 0;
      if (self->connSocks.count(s)) {
        it->second->what = 0;  // kept registered; wake-ups are ignored until curl reuses it
      } else {
        // Not a connection (the resolver's socketpair): curl may close it without telling us.
        it->second->removed = true;
        // release(): stop watching without closing; curl owns and closes the fd.
        it->second->sd.release();
        self->socks.erase(it);
      }
      return 0;
    }
    auto& sp = self->socks[s];
    if (!sp) {
      sp = std::make_shared<Sock>(self->io, s);
    } else if (what == CURL_POLL_IN && sp->outRegistered) {
      // asio never drops EPOLLOUT from a descriptor's epoll registration once a write wait has
      // added it, and every re-arm (EPOLL_CTL_MOD) of an always-writable socket then reports
      // it: a useless wakeup per streamed chunk. Reading only now (the request is sent), the
      // socket gets a fresh registration without it; the old one's waits end as removed.
      sp->removed = true;
      sp->sd.release();
      sp = std::make_shared<Sock>(self->io, s);
    }
    sp->what = what;
    self->arm(sp);
    return 0;
  }

  // Connection sockets are opened and closed here (set on each handle; a connection keeps the
  // callbacks of the handle that opened it), so a descriptor kept registered across requests
  // leaves asio exactly when curl closes it, before the fd number can be reused.
  static curl_socket_t openSocketCb(void* userp, curlsocktype, curl_sockaddr* a) {
    auto* self = static_cast<Impl*>(userp);
    curl_socket_t s = ::socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    if (s == CURL_SOCKET_BAD) return s;
    self->connSocks.insert(s);
    return s;
  }

  static int closeSocketCb(void* userp, curl_socket_t s) {
    auto* self = static_cast<Impl*>(userp);
    self->connSocks.erase(s);
    auto it = self->socks.find(s);
    if (it == self->socks.end()) return ::close(s);
    auto sp = std::move(it->second);
    self->socks.erase(it);
    sp->removed = true;
    boost::system::error_code ec;
    sp->sd.close(ec);  // closes the fd (closing removes it from epoll: no EPOLL_CTL_DEL)
    return ec ? -1 : 0;
  }

  static int timerCb(CURLM*, long ms, void* userp) {
    auto* self = static_cast<Impl*>(userp);
    if (ms < 0) {
      self->curlDue.reset();
    } else if (ms == 0) {
      // Now: a posted call is cheaper than a timer (no timerfd update, no epoll round).
      self->curlDue.reset();
      if (!self->kickPosted) {
        self->kickPosted = true;
        asio::post(self->io, [w = self->weak_from_this()] {
          if (auto me = w.lock()) {
            me->kickPosted = false;
            me->action(CURL_SOCKET_TIMEOUT, 0);
            me->schedule();  // for an idle deadline a starting request left unarmed
          }
        });
      }
      return 0;
    } else {
      self->curlDue = Clock::now() + std::chrono::milliseconds(ms);
    }
    self->schedule();
    return 0;
  }

  // Arms the timer for the earliest deadline, unless it is armed to fire no later than that
  // already (within curl's millisecond resolution). Nothing left to wait for: it is cancelled,
  // so an idle client keeps no work on the loop.
  void schedule() {
    std::optional<Clock::time_point> due = curlDue;
    if (idleDue && (!due || *idleDue < *due)) due = idleDue;
    if (!due) {
      if (timerArmed) timer.cancel();
      timerArmed = false;
      return;
    }
    if (timerArmed && timerAt <= *due + std::chrono::milliseconds(1)) return;
    timerArmed = true;
    timerAt = *due;
    timer.expires_at(*due);
    timer.async_wait([w = weak_from_this(), at = *due](const boost::system::error_code& ec) {
      if (ec) return;
      if (auto me = w.lock()) me->onTimer(at);
    });
  }

  void onTimer(Clock::time_point at) {
    if (!timerArmed || timerAt != at) return;  // superseded by a later expires_at
    timerArmed = false;
    Clock::time_point now = Clock::now();
    if (curlDue && *curlDue <= now) {
      curlDue.reset();
      action(CURL_SOCKET_TIMEOUT, 0);  // curl reports its next deadline through timerCb
    }
    if (idleDue && *idleDue <= now) checkIdle(now);
    schedule();
  }

  // Aborts the transfers silent for longer than their idle timeout; records the next deadline.
  void checkIdle(Clock::time_point now) {
    idleDue.reset();
    std::vector<uint64_t> expired;
    for (const auto& [id, t] : transfers) {
      if (t->idle == Clock::duration::zero() || t->done) continue;
      Clock::time_point due = t->lastActivity + t->idle;
      if (due <= now)
        expired.push_back(id);
      else if (!idleDue || due < *idleDue)
        idleDue = due;
    }
    for (uint64_t id : expired) {
      auto it = transfers.find(id);
      if (it == transfers.end() || it->second->done) continue;
      auto& tr = it->second;
      Error e(codes::kTimeout,
              "no data from " + tr->url + " for " + secondsText(tr->req.idleTimeout) +
                  " (idle timeout)",
              true);
      e.details = Value::object({{"url", tr->url}, {"timeout", "idle"}});
      abort(id, e);
    }
  }

  // Waits for the directions curl wants. asio's epoll reactor is edge-triggered, and curl may
  // leave bytes unread; that is safe because async_wait re-registers the descriptor
  // (EPOLL_CTL_MOD), which makes epoll re-check readiness, so unread bytes are reported at once
  // (tests/net AsioReactor.WaitOnAlreadyReadableSocketCompletes holds asio to that). No extra
  // poll() per chunk.
  void arm(const std::shared_ptr<Sock>& sp) {
    if (sp->removed) return;
    if ((sp->what & CURL_POLL_IN) && !sp->readArmed)
      wait(sp, &Sock::readArmed, asio::posix::stream_descriptor::wait_read, CURL_CSELECT_IN);
    if ((sp->what & CURL_POLL_OUT) && !sp->writeArmed) {
      sp->outRegistered = true;
      wait(sp, &Sock::writeArmed, asio::posix::stream_descriptor::wait_write, CURL_CSELECT_OUT);
    }
  }

  // One direction's wait; `armed` is that direction's flag.
  void wait(const std::shared_ptr<Sock>& sp, bool Sock::*armed,
            asio::posix::stream_descriptor::wait_type type, int cselect) {
    (*sp).*armed = true;
    sp->sd.async_wait(type, [w = weak_from_this(), sp, armed, cselect](const boost::system::error_code& ec) {
      (*sp).*armed = false;
      if (ec || sp->removed) return;
      if (auto me = w.lock()) me->onSocket(sp, cselect);
    });
  }

  void onSocket(const std::shared_ptr<Sock>& sp, int flags) {
    // Skip a stale wake-up for a direction curl no longer wants.
    int want = (flags == CURL_CSELECT_IN) ? CURL_POLL_IN : CURL_POLL_OUT;
    if (!(sp->what & want)) return;
    action(sp->fd, flags);
    if (!sp->removed) arm(sp);
  }

  void action(curl_socket_t fd, int flags) {
    if (!multi) return;
    auto keep = shared_from_this();
    int running = 0;
    ++depth;
    curl_multi_socket_action(multi, fd, flags, &running);
    --depth;
    checkInfo();
  }

  void checkInfo() {
    CURLMsg* msg;
    int left = 0;
    while (multi && (msg = curl_multi_info_read(multi, &left))) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* raw = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&raw));
      CURLcode rc = msg->data.result;
      if (!raw) continue;
      auto it = transfers.find(raw->id);
      if (it == transfers.end()) continue;
      complete(it->second, rc);
    }
  }

  // --- transfers ------------------------------------------------------------------------------

  // parseUrl of the URLs requested last: a client calls the same few endpoints over and over,
  // and curl's URL parser costs about 10K instructions a call.
  std::vector<std::pair<std::string, UrlParts>> urlCache;  // most recent last
  const UrlParts& parsedUrl(const std::string& url) {
    for (size_t i = urlCache.size(); i-- > 0;) {
      if (urlCache[i].first != url) continue;
      if (i + 1 != urlCache.size()) std::swap(urlCache[i], urlCache.back());
      return urlCache.back().second;
    }
    UrlParts u = parseUrl(url);  // throws before anything is cached
    if (urlCache.size() >= 8) urlCache.erase(urlCache.begin());
    urlCache.emplace_back(url, std::move(u));
    return urlCache.back().second;
  }

  PromisePtr start(HttpRequest req, std::shared_ptr<HttpClient> owner) {
    auto t = std::make_shared<Transfer>();
    t->req = std::move(req);
    t->promise = Promise::create();
    t->owner = std::move(owner);
    t->id = nextId++;
    t->url = t->req.url;
    for (char& c : t->req.method)
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    t->method = t->req.method;
    t->follow = t->req.followRedirects.value_or(t->method == "GET" || t->method == "HEAD");
    PromisePtr p = t->promise;
    try {
      if (!isToken(t->method))
        fail(codes::kInvalidArgument, "invalid HTTP method '" + t->method + "'");
      for (const auto& [k, v] : t->req.headers) {
        if (!isToken(k)) fail(codes::kInvalidArgument, "invalid HTTP header name '" + k + "'");
        if (v.find_first_of("\r\n") != std::string::npos)
          fail(codes::kInvalidArgument, "HTTP header '" + k + "' contains a line break");
      }
      if (t->req.connectTimeout < 0 || t->req.totalTimeout < 0 || t->req.idleTimeout < 0)
        fail(codes::kInvalidArgument, "HTTP timeouts must not be negative");
      const UrlParts& u = parsedUrl(t->url);
      if (t->req.checkUrl) t->req.checkUrl(u);
    } catch (const Exception& e) {
      p->reject(e.error());
      return p;
    } catch (const std::exception& e) {
      p->reject(Error(codes::kInternal, e.what()));
      return p;
    }
    t->easy = acquireHandle();
    if (!t->easy) {
      p->reject(Error(codes::kInternal, "curl_easy_init failed"));
      return p;
    }
    t->start = Clock::now();
    t->lastActivity = t->start;
    uint64_t id = t->id;
    p->setCanceller([w = weak_from_this(), id] {
      if (auto me = w.lock()) me->abort(id, std::nullopt);
    });
    transfers.emplace(id, t);
    if (!work) work.emplace(asio::make_work_guard(io));
    if (t->req.idleTimeout > 0) {
      t->idle = std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(t->req.idleTimeout));
      Clock::time_point due = t->start + t->idle;
      if (!idleDue || due < *idleDue) idleDue = due;
    }
    if (depth > 0) {
      // Called from a curl callback (onData of another request): curl forbids adding there.
      asio::post(io, [w = weak_from_this(), id] {
        auto me = w.lock();
        if (!me) return;
        auto it = me->transfers.find(id);
        if (it != me->transfers.end() && !it->second->done) me->addHop(it->second);
      });
    } else {
      addHop(t);
    }
    // Adding the handle queued a zero-ms curl timeout (kick): the timer is armed after it, once
    // curl has told its own deadline, so it is armed once for both.
    if (!kickPosted) schedule();
    return p;
  }

  static std::string secondsText(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%gs", s);
    return buf;
  }

  // Configures the easy handle for the current hop and adds it to the multi handle.
  void addHop(const std::shared_ptr<Transfer>& t) {
    CURL* e = t->easy;
    if (t->resp->redirects > 0) curl_easy_reset(e);  // a new handle, or a pooled one, is clean
    if (t->headerList) {
      curl_slist_free_all(t->headerList);
      t->headerList = nullptr;
    }
    t->hopStatus = 0;
    t->hopHeaders.clear();
    t->headersDone = false;
    t->followingHop = false;
    t->streamBody = false;
    t->errbuf[0] = 0;

    curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
    curl_easy_setopt(e, CURLOPT_URL, t->url.c_str());
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    // Removing a transfer whose name lookup is still running would otherwise join libcurl's
    // resolver thread, blocking the loop for as long as getaddrinfo hangs (a spell ending with
    // 1,000 calls to an unresolvable host held the process past its time limit until the hard
    // stop). With QUICK_EXIT the thread is left to finish on its own.
    curl_easy_setopt(e, CURLOPT_QUICK_EXIT, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Impl::writeCb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Impl::headerCb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &Impl::openSocketCb);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, this);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, &Impl::closeSocketCb);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, this);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, t->req.verifyTls ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, t->req.verifyTls ? 2L : 0L);
    if (t->req.connectTimeout > 0)
      curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                       static_cast<long>(secondsToMsLong(t->req.connectTimeout)));
    if (t->req.totalTimeout > 0)
      curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                       std::max(1L, static_cast<long>(secondsToMsLong(t->req.totalTimeout))));
    if (t->req.maxResponseBytes > 0)
      curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
                       static_cast<curl_off_t>(t->req.maxResponseBytes));

    const std::string& m = t->method;
    bool body = t->sendBody && (!t->req.body.empty() || m == "POST" || m == "PUT" || m == "PATCH");
    if (m == "GET" && !body) {
      curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (m == "HEAD") {
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else {
      if (m != "POST") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m.c_str());
      if (body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(t->req.body.size()));
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->req.body.data());
      }
    }

    bool hasUa = false;
    for (const auto& [k, v] : t->req.headers) {
      if (!t->sendBody && (iequals(k, "content-type") || iequals(k, "content-length"))) continue;
      if (iequals(k, "user-agent")) hasUa = true;
      std::string line = v.empty() ? k + ";" : k + ": " + v;
      t->headerList = curl_slist_append(t->headerList, line.c_str());
    }
    // No 100-continue round trip for large bodies: servers here answer directly.
    t->headerList = curl_slist_append(t->headerList, "Expect:");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headerList);
    if (!hasUa) curl_easy_setopt(e, CURLOPT_USERAGENT, "llmspell/0.1");

    CURLMcode rc = curl_multi_add_handle(multi, e);
    if (rc != CURLM_OK)
      fail_(t, Error(codes::kInternal,
                     std::string("curl_multi_add_handle: ") + curl_multi_strerror(rc)));
  }

  static size_t headerCb(char* p, size_t size, size_t n, void* ud) {
    auto* t = static_cast<Transfer*>(ud);
    size_t len = size * n;
    if (t->done || t->abortError) return 0;
    t->lastActivity = Clock::now();
    std::string_view line(p, len);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (line.substr(0, 5) == "HTTP/") {
      size_t sp = line.find(' ');
      t->hopStatus =
          sp == std::string_view::npos ? 0 : std::atoi(std::string(line.substr(sp + 1, 3)).c_str());
      t->hopHeaders.clear();
      t->headersDone = false;
      return len;
    }
    if (t->headersDone) {
      // Trailers after a chunked body.
      if (!line.empty() && !t->followingHop) {
        size_t c = line.find(':');
        if (c != std::string_view::npos)
          t->resp->headers.emplace_back(lower(trim(line.substr(0, c))),
                                        std::string(trim(line.substr(c + 1))));
      }
      return len;
    }
    if (line.empty()) {
      if (t->hopStatus >= 100 && t->hopStatus < 200) return len;  // interim response
      t->headersDone = true;
      static constexpr int kRedirects[] = {301, 302, 303, 307, 308};
      bool isRedirect = std::find(std::begin(kRedirects), std::end(kRedirects), t->hopStatus) !=
                        std::end(kRedirects);
      if (t->follow && isRedirect && findHeader(t->hopHeaders, "location")) {
        t->followingHop = true;
        return len;
      }
      t->resp->status = t->hopStatus;
      t->resp->headers = std::move(t->hopHeaders);
      t->hopHeaders.clear();
      t->streamBody = t->req.onData && (t->hopStatus < 300 || t->req.streamErrorBodies);
      if (t->req.onHeaders) {
        if (!callUser(t, [&] { t->req.onHeaders(t->resp->status, t->resp->headers); })) return 0;
      }
      return t->done ? 0 : len;
    }
    if ((line.front() == ' ' || line.front() == '\t') && !t->hopHeaders.empty()) {
      t->hopHeaders.back().second += " ";
      t->hopHeaders.back().second += trim(line);
      return len;
    }
    size_t c = line.find(':');
    if (c == std::string_view::npos) return len;  // not a header: ignore
    t->hopHeaders.emplace_back(lower(trim(line.substr(0, c))),
                               std::string(trim(line.substr(c + 1))));
    return len;
  }

  static size_t writeCb(char* p, size_t size, size_t n, void* ud) {
    auto* t = static_cast<Transfer*>(ud);
    size_t len = size * n;
    if (t->done || t->abortError) return 0;
    t->lastActivity = Clock::now();
    if (t->followingHop) return len;  // body of a redirect we follow: discard
    t->resp->bytesReceived += len;
    if (t->req.maxResponseBytes > 0 && t->resp->bytesReceived > t->req.maxResponseBytes) {
      Error e(codes::kLimitExceeded, "response from " + t->url + " exceeds the limit of " +
                                         std::to_string(t->req.maxResponseBytes) + " bytes");
      e.details = Value::object(
          {{"url", t->url}, {"max_bytes", static_cast<int64_t>(t->req.maxResponseBytes)}});
      t->abortError = e;
      return 0;
    }
    if (t->streamBody) {
      if (!callUser(t, [&] { t->req.onData(std::string_view(p, len)); })) return 0;
      return t->done ? 0 : len;
    }
    t->resp->body.append(p, len);
    return len;
  }

  // Runs a user callback inside a curl callback; an exception becomes the transfer's error.
  template <typename F>
  static bool callUser(Transfer* t, F&& f) {
    try {
      f();
      return true;
    } catch (const Exception& e) {
      t->abortError = e.error();
    } catch (const std::exception& e) {
      t->abortError =
          Error(codes::kInternal, std::string("HTTP stream callback failed: ") + e.what());
    } catch (...) {
      t->abortError = Error(codes::kInternal, "HTTP stream callback failed");
    }
    return false;
  }

  void complete(std::shared_ptr<Transfer> t, CURLcode rc) {
    if (t->done) {
      detach(t);
      return;
    }
    if (t->abortError) {
      fail_(t, *t->abortError);
      return;
    }
    if (rc != CURLE_OK) {
      Error e = curlError(rc, t->errbuf, t->url);
      if (rc == CURLE_OPERATION_TIMEDOUT) {
        curl_off_t connectUs = 0;
        curl_easy_getinfo(t->easy, CURLINFO_CONNECT_TIME_T, &connectUs);
        e.details.asObject().set("timeout", connectUs == 0 ? "connect" : "total");
      }
      fail_(t, e);
      return;
    }
    recordTiming(t);
    if (t->followingHop) {
      redirect(t);
      return;
    }
    auto resp = t->resp;
    auto p = t->promise;
    t->reusable = true;
    detach(t);
    p->resolve(Value(HostObjectPtr(resp)));
  }

  void recordTiming(const std::shared_ptr<Transfer>& t) {
    curl_off_t v = 0;
    auto ms = [&](CURLINFO info) {
      v = 0;
      curl_easy_getinfo(t->easy, info, &v);
      return static_cast<double>(v) / 1000.0;
    };
    t->resp->timing.dnsMs = ms(CURLINFO_NAMELOOKUP_TIME_T);
    t->resp->timing.connectMs = ms(CURLINFO_CONNECT_TIME_T);
    t->resp->timing.tlsMs = ms(CURLINFO_APPCONNECT_TIME_T);
    t->resp->timing.firstByteMs = ms(CURLINFO_STARTTRANSFER_TIME_T);
    t->resp->timing.totalMs =
        std::chrono::duration<double, std::milli>(Clock::now() - t->start).count();
    char* eff = nullptr;
    curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &eff);
    t->resp->effectiveUrl = eff ? eff : t->url;
  }

  void redirect(const std::shared_ptr<Transfer>& t) {
    const std::string* loc = findHeader(t->hopHeaders, "location");
    if (t->resp->redirects >= t->req.maxRedirects) {
      Error e(codes::kNetworkError, "too many redirects from " + t->req.url + " (limit " +
                                        std::to_string(t->req.maxRedirects) + ")");
      e.details = Value::object({{"url", t->url}});
      fail_(t, e);
      return;
    }
    std::string next;
    try {
      next = resolveUrl(t->url, loc ? *loc : "");
      UrlParts u = parseUrl(next);
      if (t->req.checkUrl) t->req.checkUrl(u);
      UrlParts from = parseUrl(t->url);
      if (u.scheme != from.scheme || u.host != from.host || u.port != from.port) dropCredentials(t->req);
    } catch (const Exception& e) {
      fail_(t, e.error());
      return;
    }
    int st = t->hopStatus;
    if (st == 303 || ((st == 301 || st == 302) && t->method == "POST")) {
      if (t->method != "HEAD") t->method = "GET";
      t->sendBody = false;
    }
    ++t->resp->redirects;
    t->url = next;
    curl_multi_remove_handle(multi, t->easy);
    addHop(t);
  }

  // A redirect left the origin the caller addressed: its credentials stay behind.
  static void dropCredentials(HttpRequest& rq) {
    std::erase_if(rq.headers, [&](const auto& h) {
      if (isCredentialHeader(h.first)) return true;
      return std::any_of(rq.secretHeaders.begin(), rq.secretHeaders.end(),
                         [&](const std::string& s) { return iequals(s, h.first); });
    });
  }

  // Aborts transfer `id`. With an error, the promise is rejected with it (cancel already
  // rejected the promise itself). Inside a curl callback removal is deferred to the next turn.
  void abort(uint64_t id, std::optional<Error> err) {
    auto it = transfers.find(id);
    if (it == transfers.end() || it->second->done) return;
    auto t = it->second;
    t->done = true;
    auto p = t->promise;
    if (depth > 0) {
      asio::post(io, [w = weak_from_this(), id] {
        auto me = w.lock();
        if (!me) return;
        auto it2 = me->transfers.find(id);
        if (it2 != me->transfers.end()) me->detach(it2->second);
      });
    } else {
      detach(t);
    }
    if (err && p->pending()) p->reject(*err);
  }

  void fail_(const std::shared_ptr<Transfer>& t, const Error& e) {
    auto p = t->promise;
    detach(t);
    if (p->pending()) p->reject(e);
  }

  // Removes the transfer from curl and from the table. Must not run inside a curl callback.
  void detach(std::shared_ptr<Transfer> t) {
    t->done = true;
    if (multi && t->easy) curl_multi_remove_handle(multi, t->easy);
    releaseHandle(std::exchange(t->easy, nullptr), t->reusable);
    transfers.erase(t->id);
    t->promise->setCanceller(nullptr);
    if (transfers.empty()) {
      work.reset();
      if (idleDue) {
        idleDue.reset();
        schedule();  // nothing left to time out: the timer may go (unless curl still wants it)
      }
    }
    auto owner = std::move(t->owner);  // may be the last reference to the client
    t.reset();
  }
};

// ---------------------------------------------------------------------------------------------

std::shared_ptr<HttpClient> HttpClient::forLoop(Loop& loop) {
  static std::mutex mu;
  static std::map<Loop*, std::weak_ptr<HttpClient>> clients;
  std::lock_guard<std::mutex> lock(mu);
  std::erase_if(clients, [](const auto& kv) { return kv.second.expired(); });
  auto& w = clients[&loop];
  if (auto c = w.lock()) return c;
  auto c = std::make_shared<HttpClient>(loop);
  w = c;
  return c;
}

HttpClient::HttpClient(Loop& loop) : loop_(loop), impl_(std::make_shared<Impl>(loop)) {}

HttpClient::~HttpClient() {
  impl_->shutdown();
}

PromisePtr HttpClient::request(HttpRequest req) {
  try {
    return impl_->start(std::move(req), weak_from_this().lock());
  } catch (const Exception& e) {
    return Promise::rejected(e.error());
  } catch (const std::exception& e) {
    return Promise::rejected(Error(codes::kInternal, e.what()));
  }
}

size_t HttpClient::active() const {
  return impl_->transfers.size();
}

uint64_t HttpClient::handlesCreated() const {
  return impl_->handlesCreated;
}

}  // namespace llmspell::net
