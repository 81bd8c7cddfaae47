// The MCP client over stdio. The child is started by spawnChild (the shell tool's spawner); its
// pipes are asio stream descriptors on the run's loop, so reads and writes never block the loop.
// Messages are JSON-RPC 2.0, one per line (the MCP stdio transport: no embedded newlines).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <thread>

#include "llmspell/core/convert.hpp"
#include "llmspell/core/error.hpp"
#include "llmspell/net/sse.hpp"
#include "llmspell/tools/mcp.hpp"
#include "tools/process.hpp"

namespace llmspell::tools {

const std::vector<std::string> kMcpSupportedVersions = {"2025-06-18", "2025-03-26", "2024-11-05"};

namespace {

constexpr size_t kErrTail = 2048;  // the end of the server's stderr, for messages

}  // namespace

std::shared_ptr<McpClient> McpClient::spawn(Loop& loop, McpOptions o) {
  auto c = std::make_shared<McpClient>(loop, std::move(o));
  c->start();
  return c;
}

std::shared_ptr<McpClient> McpClient::http(Loop& loop, McpOptions o) {
  net::parseUrl(o.url);  // invalid_argument for a bad URL, before anything is sent
  if (o.checkUrl) o.checkUrl(net::parseUrl(o.url));
  auto c = std::make_shared<McpClient>(loop, std::move(o));
  c->httpClient_ = net::HttpClient::forLoop(loop);
  return c;
}

McpClient::McpClient(Loop& loop, McpOptions o) : loop_(loop), opts_(std::move(o)) {
  if (opts_.label.empty()) opts_.label = "mcp server";
}

McpClient::~McpClient() {
  closed_ = true;
  // HTTP transfers still in flight (the DELETE close() sent, nobody waiting) hold the HTTP
  // client; cancelled here, they let it go with this client instead of outliving the run.
  for (auto& w : transfers_)
    if (auto t = w.lock()) t->cancel();
  pending_.clear();
  in_.reset();
  out_.reset();
  err_.reset();
  reap(true);
}

void McpClient::start() {
  ::signal(SIGPIPE, SIG_IGN);  // a server that exits mid-write must not kill the runtime
  ChildProcess c = spawnChild(opts_.argv, opts_.envp, opts_.cwd, opts_.label);
  pid_ = c.pid;
  ::fcntl(c.in, F_SETFL, O_NONBLOCK);
  in_ = std::make_unique<asio::posix::stream_descriptor>(loop_.io(), c.in);
  out_ = std::make_unique<asio::posix::stream_descriptor>(loop_.io(), c.out);
  err_ = std::make_unique<asio::posix::stream_descriptor>(loop_.io(), c.err);
  readOut();
  readErr();
}

void McpClient::send(const Value& msg) {
  if (isHttp()) {
    if (!closed_) post(msg);
    return;
  }
  if (closed_ || exited_ || !in_) return;
  outq_.push_back(toJsonText(msg) + "\n");
  if (!writing_) writeNext();
}

void McpClient::writeNext() {
  if (outq_.empty() || !in_) {
    writing_ = false;
    return;
  }
  writing_ = true;
  auto self = shared_from_this();
  asio::async_write(*in_, asio::buffer(outq_.front()),
                    [self](const boost::system::error_code& ec, size_t) {
                      if (ec) {
                        self->writing_ = false;
                        return;  // the read side sees the server go and fails what is pending
                      }
                      if (!self->outq_.empty()) self->outq_.pop_front();
                      self->writeNext();
                    });
}

namespace {

// One POST's answer: JSON, or an SSE stream of messages (progress, then the response).
struct PostState {
  net::SseParser sse;
  std::string body;
  bool stream = false;
  explicit PostState(net::SseParser::Callback cb) : sse(std::move(cb)) {}
};

}  // namespace

void McpClient::post(const Value& msg) {
  net::HttpRequest req;
  req.method = "POST";
  req.url = opts_.url;
  req.headers = opts_.headers;
  req.headers.emplace_back("content-type", "application/json");
  req.headers.emplace_back("accept", "application/json, text/event-stream");
  if (!sessionId_.empty()) req.headers.emplace_back("mcp-session-id", sessionId_);
  if (init_.isObject()) req.headers.emplace_back("mcp-protocol-version", init_.getString("protocolVersion"));
  req.body = toJsonText(msg);
  req.checkUrl = opts_.checkUrl;
  req.followRedirects = false;
  std::weak_ptr<McpClient> weak = weak_from_this();
  auto st = std::make_shared<PostState>([weak](const net::SseEvent& e) {
    auto self = weak.lock();
    if (self && !self->closed_ && e.event == "message" && !e.data.empty()) self->onLine(e.data);
  });
  bool isInit = msg.getString("method") == "initialize";
  req.onHeaders = [weak, st, isInit](int status, const net::Headers& h) {
    auto self = weak.lock();
    if (!self) return;
    const std::string* ct = net::findHeader(h, "content-type");
    st->stream = ct && ct->find("text/event-stream") != std::string::npos;
    if (isInit)
      if (const std::string* sid = net::findHeader(h, "mcp-session-id")) self->sessionId_ = *sid;
  };
  req.onData = [st](std::string_view chunk) {
    if (st->stream)
      st->sse.feed(chunk);
    else
      st->body.append(chunk);
  };
  const Value& id = msg.get("id");
  bool isRequest = !id.isNull() && msg.get("method").isString();
  PromisePtr t = httpClient_->request(std::move(req));
  std::erase_if(transfers_, [](const std::weak_ptr<Promise>& w) { return w.expired(); });
  transfers_.push_back(t);
  if (isRequest && id.isInt()) {
    auto it = pending_.find(id.asInt());
    if (it != pending_.end()) it->second.transfer = t;
  }
  t->onSettle([weak, st, id, isRequest](const Promise& q) {
    auto self = weak.lock();
    if (!self || self->closed_) {
      if (q.rejected()) const_cast<Promise&>(q).markHandled();
      return;
    }
    auto failRequest = [&](Error e) {
      if (!isRequest || !id.isInt()) return;
      auto it = self->pending_.find(id.asInt());
      if (it == self->pending_.end()) return;
      PromisePtr p = it->second.promise;
      it->second.timer.cancel();
      self->pending_.erase(it);
      p->reject(std::move(e));
    };
    if (q.rejected()) {
      const_cast<Promise&>(q).markHandled();
      Error e = q.error();
      if (e.code != codes::kCancelled) e.message = self->opts_.label + ": " + e.message;
      failRequest(std::move(e));
      return;
    }
    const net::HttpResponse& r = net::responseOf(q.value());
    if (st->stream) st->sse.finish();
    std::string body = r.status >= 300 ? r.body : st->body;
    if (r.status >= 300) {
      Error e(codes::kProviderError, self->opts_.label + " answered HTTP " + std::to_string(r.status) +
                                         (body.empty() ? std::string() : ": " + body.substr(0, 500)));
      failRequest(std::move(e));
      return;
    }
    if (!body.empty()) self->onLine(body);
    // A request whose POST ended without its answer (the stream closed early) would wait
    // for its timeout: fail it now.
    failRequest(Error(codes::kProviderError, self->opts_.label + " ended the answer to a request without a result"));
  });
}

void McpClient::readOut() {
  if (!out_) return;
  auto self = shared_from_this();
  out_->async_read_some(asio::buffer(outBuf_), [self](const boost::system::error_code& ec, size_t n) {
    if (ec) {
      if (ec != asio::error::operation_aborted) self->serverGone();
      return;
    }
    self->lineBuf_.append(self->outBuf_.data(), n);
    size_t start = 0, nl;
    while ((nl = self->lineBuf_.find('\n', start)) != std::string::npos) {
      std::string_view line(self->lineBuf_.data() + start, nl - start);
      start = nl + 1;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (!line.empty()) self->onLine(line);
      if (self->closed_) return;
    }
    self->lineBuf_.erase(0, start);
    self->readOut();
  });
}

void McpClient::readErr() {
  if (!err_) return;
  auto self = shared_from_this();
  err_->async_read_some(asio::buffer(errBuf_), [self](const boost::system::error_code& ec, size_t n) {
    if (ec) return;
    self->errTail_.append(self->errBuf_.data(), n);
    if (self->errTail_.size() > 2 * kErrTail) self->errTail_.erase(0, self->errTail_.size() - kErrTail);
    self->readErr();
  });
}

void McpClient::onLine(std::string_view line) {
  Value msg;
  try {
    msg = parseJson(line);
  } catch (const Exception&) {
    return;  // not JSON-RPC (a server logging to stdout): skipped, as the SDK clients do
  }
  if (!msg.isObject()) return;
  const Value& method = msg.get("method");
  const Value& id = msg.get("id");
  if (method.isString()) {
    if (!id.isNull()) {
      onServerRequest(msg);
      return;
    }
    const std::string& m = method.asString();
    const Value& params = msg.get("params");
    if (m == "notifications/progress") {
      const Value& token = params.get("progressToken");
      if (token.isInt()) {
        auto it = pending_.find(token.asInt());
        if (it != pending_.end() && it->second.onProgress) it->second.onProgress(params);
      }
      return;
    }
    if (onNotification_) onNotification_(m, params);
    return;
  }
  if (!id.isInt()) return;
  auto it = pending_.find(id.asInt());
  if (it == pending_.end()) return;  // answered after a timeout or cancellation
  Pending p = std::move(it->second);
  pending_.erase(it);
  p.timer.cancel();
  const Value& err = msg.get("error");
  if (err.isObject()) {
    Error e(codes::kProviderError, opts_.label + ": " + p.method + " failed: " +
                                       err.getString("message", "error " + std::to_string(err.getInt("code"))));
    e.details = Value::object({{"code", err.get("code")}, {"data", err.get("data")}});
    p.promise->reject(std::move(e));
    return;
  }
  p.promise->resolve(msg.get("result"));
}

// The server asks the client something. llmspell declares no client capabilities (roots,
// sampling, elicitation), so only ping is answered; anything else gets "method not found".
void McpClient::onServerRequest(const Value& msg) {
  Value reply = Value::object({{"jsonrpc", "2.0"}, {"id", msg.get("id")}});
  if (msg.getString("method") == "ping") {
    reply.asObject().set("result", Value::object());
  } else {
    reply.asObject().set("error", Value::object({{"code", -32601},
                                                 {"message", "llmspell does not support " + msg.getString("method")}}));
  }
  send(reply);
}

PromisePtr McpClient::request(const std::string& method, Value params, ProgressFn onProgress,
                              double timeout) {
  if (closed_) return Promise::rejected(Error(codes::kCancelled, opts_.label + " is closed"));
  if (exited_) return Promise::rejected(Error(codes::kProviderError, opts_.label + " has exited"));
  int64_t id = nextId_++;
  if (!params.isObject()) params = Value::object();
  if (onProgress) {
    Value meta = params.get("_meta").isObject() ? params.get("_meta").deepCopy() : Value::object();
    meta.asObject().set("progressToken", id);
    params.asObject().set("_meta", meta);
  }
  auto p = Promise::create();
  Pending pend{p, std::move(onProgress), {}, method};
  if (timeout < 0) timeout = opts_.timeout;
  std::weak_ptr<McpClient> weak = weak_from_this();
  if (timeout > 0) {
    pend.timer = loop_.setTimeout(timeout, [weak, id, timeout] {
      auto self = weak.lock();
      if (!self) return;
      auto it = self->pending_.find(id);
      if (it == self->pending_.end()) return;
      PromisePtr q = it->second.promise;
      std::string m = it->second.method;
      self->abandon(id, "timeout");
      char secs[32];
      std::snprintf(secs, sizeof secs, "%g", timeout);
      q->reject(Error(codes::kTimeout, self->opts_.label + ": " + m + " got no answer within " + secs + "s", true));
    });
  }
  pending_.emplace(id, std::move(pend));
  p->setCanceller([weak, id] {
    if (auto self = weak.lock()) self->abandon(id, "cancelled by the spell");
  });
  send(Value::object({{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}}));
  return p;
}

// Forgets a request and tells the server (notifications/cancelled), which may stop the work.
void McpClient::abandon(int64_t id, const std::string& reason) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  it->second.timer.cancel();
  PromisePtr transfer = it->second.transfer;
  pending_.erase(it);
  if (transfer) transfer->cancel();
  notify("notifications/cancelled", Value::object({{"requestId", id}, {"reason", reason}}));
}

void McpClient::notify(const std::string& method, Value params) {
  Value msg = Value::object({{"jsonrpc", "2.0"}, {"method", method}});
  if (!params.isNull()) msg.asObject().set("params", std::move(params));
  send(msg);
}

PromisePtr McpClient::initialize() {
  Value params = Value::object(
      {{"protocolVersion", kMcpProtocolVersion},
       {"capabilities", Value::object()},
       {"clientInfo", Value::object({{"name", "llmspell"}, {"version", "0.1"}})}});
  std::weak_ptr<McpClient> weak = weak_from_this();
  PromisePtr init = request("initialize", params);
  auto out = Promise::create();
  out->setCanceller([init] { init->cancel(); });
  init->onSettle([weak, out](const Promise& q) {
    if (!out->pending()) return;
    if (q.rejected()) {
      const_cast<Promise&>(q).markHandled();
      out->reject(q.error());
      return;
    }
    auto self = weak.lock();
    if (!self) return out->reject(Error(codes::kCancelled, "mcp client is gone"));
    const Value& r = q.value();
    std::string v = r.getString("protocolVersion");
    bool known = false;
    for (const auto& s : kMcpSupportedVersions) known = known || s == v;
    if (!known) {
      self->close();
      return out->reject(Error(codes::kProviderError, self->opts_.label + " speaks MCP protocol revision '" + v +
                                                          "', which llmspell does not (it speaks " + kMcpProtocolVersion +
                                                          ", 2025-03-26 and 2024-11-05)"));
    }
    self->init_ = r;
    self->notify("notifications/initialized", Value());
    if (!self->isHttp()) return out->resolve(r);
    // The session is ready once its GET stream is (or the server said it offers none), so a
    // notification the server sends right after the spell's first request is not missed.
    Value result = r;
    self->openStream([out, result] {
      if (out->pending()) out->resolve(result);
    });
  });
  return out;
}

namespace {

// The GET stream's state for one connection.
struct StreamState {
  net::SseParser sse;
  bool sse_ok = false;   // a 200 text/event-stream answer
  bool gotEvent = false;
  std::function<void()> ready;  // called once: headers, or the request failed
  explicit StreamState(net::SseParser::Callback cb) : sse(std::move(cb)) {}
  void signal() {
    if (auto r = std::move(ready)) {
      ready = nullptr;
      r();
    }
  }
};

constexpr int kStreamRetries = 3;  // reconnections in a row that bring no event before giving up

}  // namespace

// Streamable HTTP's GET stream: messages from the server outside any request (list changes,
// log messages, its own requests). When it ends or breaks, it is opened again after the
// server's `retry:` (1 s by default) with Last-Event-ID, so a server that keeps its events
// replays what was missed. A 405 (no stream offered) or another 4xx ends it.
void McpClient::openStream(std::function<void()> ready) {
  net::HttpRequest req;
  req.method = "GET";
  req.url = opts_.url;
  req.headers = opts_.headers;
  req.headers.emplace_back("accept", "text/event-stream");
  if (!sessionId_.empty()) req.headers.emplace_back("mcp-session-id", sessionId_);
  if (init_.isObject()) req.headers.emplace_back("mcp-protocol-version", init_.getString("protocolVersion"));
  if (!lastEventId_.empty()) req.headers.emplace_back("last-event-id", lastEventId_);
  req.checkUrl = opts_.checkUrl;
  req.followRedirects = false;
  std::weak_ptr<McpClient> weak = weak_from_this();
  auto st = std::make_shared<StreamState>([weak](const net::SseEvent& e) {
    auto self = weak.lock();
    if (!self || self->closed_) return;
    if (!e.id.empty()) self->lastEventId_ = e.id;
    if (e.retry) self->retryMs_ = *e.retry;
    if (e.event == "message" && !e.data.empty()) {
      self->streamFailures_ = 0;
      self->onLine(e.data);
    }
  });
  st->ready = std::move(ready);
  req.onHeaders = [st](int status, const net::Headers& h) {
    const std::string* ct = net::findHeader(h, "content-type");
    st->sse_ok = status == 200 && ct && ct->find("text/event-stream") != std::string::npos;
    st->signal();
  };
  req.onData = [st](std::string_view chunk) {
    if (st->sse_ok) st->sse.feed(chunk);
  };
  PromisePtr t = httpClient_->request(std::move(req));
  std::erase_if(transfers_, [](const std::weak_ptr<Promise>& w) { return w.expired(); });
  transfers_.push_back(t);
  t->onSettle([weak, st](const Promise& q) {
    if (q.rejected()) const_cast<Promise&>(q).markHandled();
    st->signal();
    auto self = weak.lock();
    if (!self || self->closed_) return;
    if (q.fulfilled()) {
      int status = net::responseOf(q.value()).status;
      if (status >= 400 && status < 500) return;  // 405: the server offers no stream; 404: the session is gone
      if (st->sse_ok) st->sse.finish();
    }
    if (++self->streamFailures_ > kStreamRetries) return;
    std::weak_ptr<McpClient> w = self;
    self->reconnect_ = self->loop_.setTimeout(static_cast<double>(self->retryMs_) / 1000.0, [w] {
      if (auto c = w.lock(); c && !c->closed_) c->openStream({});
    });
  });
}

namespace {

struct ListState {
  std::weak_ptr<McpClient> client;
  std::string method, key;
  Value items = Value::array();
  PromisePtr out, current;
  int pages = 0;
};

void listPage(const std::shared_ptr<ListState>& st, const Value& cursor) {
  auto c = st->client.lock();
  if (!c) {
    st->out->reject(Error(codes::kCancelled, "mcp client is gone"));
    return;
  }
  Value params = Value::object();
  if (!cursor.isNull()) params.asObject().set("cursor", cursor);
  st->current = c->request(st->method, params);
  st->current->onSettle([st](const Promise& q) {
    if (!st->out->pending()) return;
    if (q.rejected()) {
      const_cast<Promise&>(q).markHandled();
      st->out->reject(q.error());
      return;
    }
    const Value& page = q.value().get(st->key);
    if (page.isArray())
      for (const auto& v : page.asArray()) st->items.asArray().push(v);
    const Value& next = q.value().get("nextCursor");
    // A server that hands back cursors forever would loop; 1000 pages is far past any real list.
    if (next.isString() && !next.asString().empty() && ++st->pages < 1000) {
      listPage(st, next);
      return;
    }
    st->out->resolve(st->items);
  });
}

}  // namespace

PromisePtr McpClient::listAll(const std::string& method, const std::string& key) {
  auto st = std::make_shared<ListState>();
  st->client = weak_from_this();
  st->method = method;
  st->key = key;
  st->out = Promise::create();
  std::weak_ptr<ListState> weak = st;
  st->out->setCanceller([weak] {
    if (auto s = weak.lock())
      if (s->current) s->current->cancel();
  });
  listPage(st, Value());
  return st->out;
}

void McpClient::failAll(const Error& e) {
  auto pend = std::move(pending_);
  pending_.clear();
  for (auto& [id, p] : pend) {
    p.timer.cancel();
    p.promise->reject(e);
  }
}

void McpClient::serverGone() {
  if (exited_ || closed_) return;
  exited_ = true;
  reap(false);
  // stderr may still hold the last words (a stack trace); read what is there without waiting.
  if (err_) {
    char buf[4096];
    int fd = err_->native_handle();
    ::fcntl(fd, F_SETFL, O_NONBLOCK);
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) errTail_.append(buf, static_cast<size_t>(n));
  }
  std::string tail = errTail_.size() > kErrTail ? errTail_.substr(errTail_.size() - kErrTail) : errTail_;
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == ' ')) tail.pop_back();
  std::string how = "closed its output";
  if (reaped_ && WIFEXITED(exitStatus_))
    how = "exited with status " + std::to_string(WEXITSTATUS(exitStatus_));
  else if (reaped_ && WIFSIGNALED(exitStatus_))
    how = "was killed by signal " + std::to_string(WTERMSIG(exitStatus_));
  Error e(codes::kProviderError,
          opts_.label + " " + how + (tail.empty() ? std::string() : "; its stderr ends with: " + tail));
  e.details = Value::object({{"stderr", tail}});
  failAll(e);
}

// Collects the child's exit status; with `wait`, ends it first (SIGTERM to its group, SIGKILL
// after 2 s). Waiting blocks the calling thread at most those 2 s: it runs when a client is
// closed or its run ends, where the child must be gone before the runtime goes on.
void McpClient::reap(bool wait) {
  if (pid_ <= 0 || reaped_) return;
  auto collected = [&] {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return false;
    exitStatus_ = status;
    reaped_ = true;
    ::kill(-pid_, SIGKILL);  // the rest of its process group, if any outlived it
    return true;
  };
  if (collected()) return;
  if (!wait) {
    // Its output closed but it has not exited yet: give it a moment (a crash is quick).
    for (int i = 0; i < 50 && !collected(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return;
  }
  ::kill(-pid_, SIGTERM);
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < until) {
    if (collected()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(-pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  exitStatus_ = status;
  reaped_ = true;
}

void McpClient::close(bool settle) {
  if (closed_) return;
  closed_ = true;
  if (settle) {
    failAll(Error(codes::kCancelled, opts_.label + " was closed"));
  } else {
    for (auto& [id, p] : pending_) p.timer.cancel();
    pending_.clear();
  }
  // The message being written stays until its write completes (asio holds a view of it).
  if (writing_ && !outq_.empty())
    outq_.erase(outq_.begin() + 1, outq_.end());
  else
    outq_.clear();
  if (isHttp()) {
    for (auto& w : transfers_)
      if (auto t = w.lock()) t->cancel();
    transfers_.clear();
    if (!sessionId_.empty() && httpClient_) {
      // Ends the session on the server; nobody waits for the answer.
      net::HttpRequest req;
      req.method = "DELETE";
      req.url = opts_.url;
      req.headers = opts_.headers;
      req.headers.emplace_back("mcp-session-id", sessionId_);
      req.checkUrl = opts_.checkUrl;
      req.totalTimeout = 5;
      PromisePtr del = httpClient_->request(std::move(req));
      del->onSettle([](const Promise& q) {
        if (q.rejected()) const_cast<Promise&>(q).markHandled();
      });
      transfers_.push_back(del);
    }
    return;
  }
  // stdin closed first: the stdio transport's orderly shutdown; then the signals.
  boost::system::error_code ec;
  if (in_) in_->close(ec);
  if (out_) out_->close(ec);
  if (err_) err_->close(ec);
  reap(true);
}

Value mcpToolResult(const Value& result, const std::string& label, const std::string& tool) {
  std::string text;
  const Value& content = result.get("content");
  if (content.isArray())
    for (const auto& b : content.asArray())
      if (b.getString("type") == "text") {
        if (!text.empty()) text += "\n";
        text += b.getString("text");
      }
  if (result.get("isError").truthy()) {
    Error e(codes::kProviderError, label + " tool '" + tool + "': " + (text.empty() ? "failed" : text));
    e.details = Value::object({{"content", content}});
    throw Exception(std::move(e));
  }
  Value out = Value::object({{"text", text}, {"content", content.isNull() ? Value::array() : content}});
  if (!result.get("structuredContent").isNull()) out.asObject().set("structured", result.get("structuredContent"));
  return out;
}

}  // namespace llmspell::tools
