// `llmspell mcp serve`: tools served to MCP clients.
//
// What is served (McpTools): the tools one spell's run defined (tools.define, agents as tools),
// or, with --spells DIR, the tools of one `llmspell mcp serve SPELL` child per spell, each child
// an MCP server running under its own spell's manifest and this process an MCP client of each.
// The protocol (McpSession: initialize, tools/list, tools/call with progress and cancellation)
// is separate from the two transports that carry it: stdio (one JSON-RPC message per line, until
// the client closes stdin) and Streamable HTTP (revision 2025-06-18: POST /mcp, sessions, a GET
// stream for notifications, DELETE), so the endpoint can move onto another HTTP server.
// Over stdio the spell's own output (print, log lines) goes to stderr: stdout carries only the
// protocol.
#include <unistd.h>

#include <boost/asio/signal_set.hpp>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>

#include "cli/commands.hpp"
#include "llmspell/bridge/registry.hpp"
#include "llmspell/core/convert.hpp"
#include "llmspell/runtime/asio.hpp"
#include "llmspell/runtime/loop.hpp"
#include "llmspell/serve/access.hpp"
#include "llmspell/tools/mcp.hpp"
#include "llmspell/tools/tools.hpp"
#include "net/server.hpp"

extern char** environ;

namespace llmspell::cli {
namespace {

namespace fs = std::filesystem;

// Revisions this server speaks, newest first: it answers with the client's when it knows it.
constexpr const char* kRevisions[] = {"2025-06-18", "2025-03-26", "2024-11-05"};

bool knownRevision(const std::string& v) {
  return std::any_of(std::begin(kRevisions), std::end(kRevisions), [&](const char* r) { return v == r; });
}

Value rpcError(const Value& id, int code, const std::string& message) {
  return Value::object({{"jsonrpc", "2.0"},
                        {"id", id},
                        {"error", Value::object({{"code", static_cast<int64_t>(code)}, {"message", message}})}});
}

Value textResult(const std::string& text, bool isError) {
  return Value::object(
      {{"content", Value::array({Value::object({{"type", "text"}, {"text", text}})})}, {"isError", isError}});
}

// What a server offers. Loop-affine.
class McpTools {
 public:
  using ProgressFn = std::function<void(Value params)>;  // {progress, total?, message?}
  virtual ~McpTools() = default;
  virtual std::string name() const = 0;
  virtual bool mayChange() const { return false; }  // the listChanged capability
  virtual Value list() = 0;                          // tools/list's items
  virtual bool has(const std::string& tool) = 0;
  // The spell a tool belongs to (an API key names the spells it may use).
  virtual std::string spellOf(const std::string& tool) const = 0;
  // The one spell every tool belongs to, "" when the tools come from several.
  virtual std::string onlySpell() const = 0;
  // tools/call: resolves with a CallToolResult ({content, isError, structuredContent?}); a
  // tool's failure is such a result (isError), for the model to read. Cancelling the promise
  // stops the call. `progress` is empty when the client asked for none.
  virtual PromisePtr call(const std::string& tool, const Value& args, ProgressFn progress) = 0;
  std::function<void()> onListChanged;  // set by the transport
};

// The tools one spell's run defined (and the built-ins with --builtins).
class RunTools : public McpTools {
 public:
  RunTools(RunContext& run, bool builtins) : run_(run), builtins_(builtins) {}
  std::string name() const override { return run_.spellName; }
  std::string spellOf(const std::string&) const override { return run_.spellName; }
  std::string onlySpell() const override { return run_.spellName; }

  Value list() override {
    Value out = Value::array();
    for (const auto& t : served()) {
      Value schema = t->parameters.isObject() ? t->parameters : Value::object({{"type", "object"}});
      out.asArray().push(Value::object({{"name", t->name}, {"description", t->description}, {"inputSchema", schema}}));
    }
    return out;
  }

  bool has(const std::string& tool) override {
    auto list = served();
    return std::any_of(list.begin(), list.end(), [&](const tools::ToolPtr& t) { return t->name == tool; });
  }

  PromisePtr call(const std::string& tool, const Value& args, ProgressFn progress) override {
    // A client that asks for progress gets ctx.progress(done, total, message) in the tool.
    Value ctx = Value::object({{"caller", "mcp"}});
    if (progress) {
      auto fn = std::make_shared<HostFunction>(
          [progress](std::vector<Value> a) -> PromisePtr {
            Value p = Value::object({{"progress", a.size() > 0 && a[0].isNumber() ? a[0] : Value(0)}});
            if (a.size() > 1 && a[1].isNumber()) p.asObject().set("total", a[1]);
            if (a.size() > 2 && a[2].isString()) p.asObject().set("message", a[2]);
            progress(std::move(p));
            return Promise::resolved(Value());
          },
          "progress");
      ctx.asObject().set("progress", Value(FunctionPtr(fn)));
    }
    PromisePtr p;
    try {
      p = tools::toolsFor(run_).call(tool, args, ctx);
    } catch (const Exception& e) {
      p = Promise::rejected(e.error());
    }
    auto out = Promise::create();
    out->setCanceller([p] { p->cancel(); });
    p->onSettle([out](const Promise& q) {
      if (!out->pending()) {
        if (q.rejected()) const_cast<Promise&>(q).markHandled();
        return;
      }
      if (q.fulfilled()) {
        const Value& v = q.value();
        std::string text;
        try {
          text = v.isString() ? v.asString() : toJsonText(v);
        } catch (const Exception&) {
          text = v.describe();
        }
        Value result = textResult(text, false);
        if (v.isObject()) result.asObject().set("structuredContent", v);
        out->resolve(result);
      } else {
        const_cast<Promise&>(q).markHandled();
        const Error& e = q.error();
        out->resolve(textResult("error[" + e.code + "]: " + e.message, true));
      }
    });
    return out;
  }

 private:
  std::vector<tools::ToolPtr> served() {
    std::vector<tools::ToolPtr> out;
    for (const auto& t : tools::toolsFor(run_).list())
      if (builtins_ || !t->builtin) out.push_back(t);
    return out;
  }
  RunContext& run_;
  bool builtins_;
};

// The protocol for one client (a stdio connection, an HTTP session). Loop-affine.
class McpSession : public std::enable_shared_from_this<McpSession> {
 public:
  // Gets the messages that belong to one request: its progress notifications, then its answer
  // (last = true).
  using Send = std::function<void(const Value& msg, bool last)>;

  explicit McpSession(std::shared_ptr<McpTools> tools) : tools_(std::move(tools)) {}

  // The tools this session's client may see and call (its API key's spells); all when empty.
  // A tool it may not use is answered as one that does not exist.
  std::function<bool(const std::string& tool)> visible;

  // One JSON-RPC message (parsed). A notification or a response gets nothing through `send`.
  void handle(const Value& msg, const Send& send) {
    if (!msg.isObject() || !msg.get("method").isString()) {
      if (msg.isObject() && !msg.get("id").isNull() && msg.get("method").isNull()) return;  // a response: none expected
      send(rpcError(msg.isObject() ? msg.get("id") : Value(),
                    -32600, "invalid request: expected a JSON-RPC 2.0 object with a method"),
           true);
      return;
    }
    const std::string method = msg.getString("method");
    const Value id = msg.get("id");
    const Value& params = msg.get("params");
    if (!msg.asObject().find("id")) {
      // The client gave up on a call: the tool's promise is cancelled (its timers, its HTTP).
      if (method == "notifications/cancelled") cancel(params.get("requestId"));
      return;
    }
    auto reply = [&](Value result) {
      send(Value::object({{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}}), true);
    };
    if (method == "initialize") {
      std::string want = params.getString("protocolVersion");
      reply(Value::object(
          {{"protocolVersion", knownRevision(want) ? want : kRevisions[0]},
           {"capabilities", Value::object({{"tools", Value::object({{"listChanged", tools_->mayChange()}})}})},
           {"serverInfo", Value::object({{"name", "llmspell: " + tools_->name()}, {"version", "0.1.0"}})}}));
    } else if (method == "ping") {
      reply(Value::object());
    } else if (method == "tools/list") {
      Value all = tools_->list();
      if (visible) {
        Value mine = Value::array();
        for (const auto& t : all.asArray())
          if (visible(t.getString("name"))) mine.asArray().push(t);
        all = std::move(mine);
      }
      reply(Value::object({{"tools", std::move(all)}}));
    } else if (method == "tools/call") {
      call(id, params, send);
    } else {
      send(rpcError(id, -32601, "method not found: " + method + " (this server offers tools: tools/list and tools/call)"),
           true);
    }
  }

  // Calls in flight; `onIdle` runs when the last one is answered.
  size_t inflight() const { return calls_.size(); }
  std::function<void()> onIdle;

  void cancelAll() {
    auto calls = std::move(calls_);
    calls_.clear();
    for (auto& [k, p] : calls) p->cancel();
  }

  void cancel(const Value& requestId) {
    if (requestId.isNull()) return;
    auto it = calls_.find(toJsonText(requestId));
    if (it == calls_.end()) return;
    PromisePtr p = it->second;
    p->cancel();
  }

 private:
  void call(const Value& id, const Value& params, const Send& send) {
    std::string name = params.getString("name");
    if (!tools_->has(name) || (visible && !visible(name))) {
      send(rpcError(id, -32602, "unknown tool '" + name + "'"), true);
      return;
    }
    Value args = params.get("arguments").isObject() ? params.get("arguments") : Value::object();
    McpTools::ProgressFn progress;
    const Value& token = params.get("_meta").get("progressToken");
    if (token.isString() || token.isNumber())
      progress = [send, token](Value p) {
        p.asObject().set("progressToken", token);
        send(Value::object({{"jsonrpc", "2.0"}, {"method", "notifications/progress"}, {"params", p}}), false);
      };
    std::string key = toJsonText(id);
    PromisePtr p = tools_->call(name, args, std::move(progress));
    calls_[key] = p;
    std::weak_ptr<McpSession> weak = weak_from_this();
    p->onSettle([weak, key, id, send, p](const Promise& q) {
      auto self = weak.lock();
      if (self) {
        auto it = self->calls_.find(key);
        if (it != self->calls_.end() && it->second == p) self->calls_.erase(it);
      }
      if (q.fulfilled()) {
        send(Value::object({{"jsonrpc", "2.0"}, {"id", id}, {"result", q.value()}}), true);
      } else {
        // Cancelled (the client gave up or went away): the protocol says no answer is sent,
        // but the transport still learns the request is over.
        const_cast<Promise&>(q).markHandled();
        send(Value(), true);
      }
      if (self && self->calls_.empty() && self->onIdle) self->onIdle();
    });
  }

  std::shared_ptr<McpTools> tools_;
  std::map<std::string, PromisePtr> calls_;  // tools/call in flight, by the id's JSON text
};

// --- stdio ----------------------------------------------------------------------------------

struct StdioServer : std::enable_shared_from_this<StdioServer> {
  StdioServer(Loop& loop, std::shared_ptr<McpTools> t, int outFd)
      : in(loop.io(), ::dup(STDIN_FILENO)), out(loop.io(), ::dup(outFd)), session(std::make_shared<McpSession>(t)),
        tools(std::move(t)) {}

  asio::posix::stream_descriptor in, out;
  asio::streambuf buf;
  std::shared_ptr<McpSession> session;
  std::shared_ptr<McpTools> tools;
  std::deque<std::string> outq;
  bool writing = false;
  PromisePtr done = Promise::create();
  bool ended = false;  // stdin is closed: the session ends once the calls in flight are answered

  void start() {
    std::weak_ptr<StdioServer> weak = weak_from_this();
    session->onIdle = [weak] {
      if (auto s = weak.lock()) s->finishIfDone();
    };
    tools->onListChanged = [weak] {
      if (auto s = weak.lock())
        s->send(Value::object({{"jsonrpc", "2.0"}, {"method", "notifications/tools/list_changed"}}));
    };
    readNext();
  }

  void finishIfDone() {
    if (ended && session->inflight() == 0 && !writing && outq.empty() && done->pending()) done->resolve(Value());
  }

  // Written by the loop without blocking it: a client slow to read stdout holds up only the
  // messages behind.
  void send(const Value& msg) {
    if (msg.isNull()) return;
    outq.push_back(toJsonText(msg) + "\n");
    if (!writing) writeNext();
  }
  void writeNext() {
    if (outq.empty()) {
      writing = false;
      finishIfDone();
      return;
    }
    writing = true;
    asio::async_write(out, asio::buffer(outq.front()), [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
      if (ec) {  // the client went away: what is queued cannot go anywhere
        self->outq.clear();
        self->writing = false;
        self->finishIfDone();
        return;
      }
      self->outq.pop_front();
      self->writeNext();
    });
  }

  void readNext() {
    asio::async_read_until(in, buf, '\n', [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
      if (ec) {  // end of input (or a broken pipe): the session is over
        self->ended = true;
        self->finishIfDone();
        return;
      }
      std::string line(asio::buffers_begin(self->buf.data()), asio::buffers_begin(self->buf.data()) + n);
      self->buf.consume(n);
      self->handle(line);
      self->readNext();
    });
  }

  void handle(const std::string& line) {
    if (line.find_first_not_of(" \t\r\n") == std::string::npos) return;
    Value msg;
    try {
      msg = parseJson(line, 1u << 20);
    } catch (const Exception& e) {
      send(rpcError(Value(), -32700, "parse error: " + e.error().message));
      return;
    }
    std::weak_ptr<StdioServer> weak = weak_from_this();
    session->handle(msg, [weak](const Value& m, bool) {
      if (auto s = weak.lock()) s->send(m);
    });
  }
};

// --- Streamable HTTP ------------------------------------------------------------------------

constexpr uint64_t kBodyLimit = 4u << 20;  // a JSON-RPC message; tool arguments are small

std::string newSessionId() {
  std::random_device rd;  // the OS's random source: session ids must not be guessable
  char out[33];
  std::snprintf(out, sizeof out, "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
  return out;
}

// An Origin header names the page a browser request comes from. Only pages served from this
// machine may talk to the server: a page elsewhere reaching 127.0.0.1 (DNS rebinding) may not.
bool originAllowed(const std::string& origin) {
  if (origin.empty()) return true;  // not a browser
  size_t at = origin.find("://");
  if (at == std::string::npos) return false;
  std::string host = origin.substr(at + 3);
  if (host.starts_with("[")) {
    host = host.substr(0, host.find(']') + 1);
  } else {
    host = host.substr(0, host.find_first_of(":/"));
  }
  return host == "localhost" || host == "127.0.0.1" || host == "[::1]";
}

bool accepts(const std::string& accept, const char* type) {
  return accept.empty() || accept.find(type) != std::string::npos || accept.find("*/*") != std::string::npos;
}

std::string sseEvent(const Value& msg) {
  return "event: message\ndata: " + toJsonText(msg) + "\n\n";
}

class HttpServer : public std::enable_shared_from_this<HttpServer> {
 public:
  // `access`: API keys every request must carry (null: none, for a server on loopback).
  HttpServer(Loop& loop, std::shared_ptr<McpTools> tools, std::shared_ptr<serve::Access> access)
      : loop_(loop), tools_(std::move(tools)), access_(std::move(access)), signals_(loop.io()) {}
  ~HttpServer() {
    for (auto& [id, s] : sessions_) s.mcp->cancelAll();
  }

  PromisePtr done = Promise::create();

  void start(const std::string& host, int port) {
    std::weak_ptr<HttpServer> weak = weak_from_this();
    Loop* loop = &loop_;
    net::ServerOptions so;
    so.host = host;
    so.port = port;
    so.bodyLimit = kBodyLimit;
    try {
      server_ = std::make_unique<net::TestHttpServer>(
          [weak, loop](const net::ServerRequest& rq, net::ResponsePtr res) {
            // The server's thread: the protocol runs on the loop.
            loop->post([weak, rq, res] {
              if (auto s = weak.lock())
                s->handle(rq, res);
              else
                res->send(503, "the server is stopping");
            });
          },
          so);
    } catch (const std::exception& e) {
      fail(codes::kConfigError, "mcp serve: cannot listen on " + host + ":" + std::to_string(port) + ": " + e.what());
    }
    tools_->onListChanged = [weak] {
      if (auto s = weak.lock())
        s->broadcast(Value::object({{"jsonrpc", "2.0"}, {"method", "notifications/tools/list_changed"}}));
    };
    // SIGINT and SIGTERM end the server in order: open sessions' calls cancelled, the run
    // (and with --spells the children) ended as after any spell.
    signals_.add(SIGINT);
    signals_.add(SIGTERM);
    signals_.async_wait([weak](const boost::system::error_code& ec, int) {
      if (ec) return;
      if (auto s = weak.lock()) s->stop();
    });
    std::fprintf(stderr, "llmspell mcp: serving %s on %s\n", tools_->name().c_str(), server_->url("/mcp").c_str());
    std::fflush(stderr);
  }

  void stop() {
    for (auto& [id, s] : sessions_) {
      s.mcp->cancelAll();
      if (s.stream) s.stream->end();
    }
    sessions_.clear();
    boost::system::error_code ec;
    signals_.cancel(ec);
    if (done->pending()) done->resolve(Value());
  }

 private:
  struct Session {
    std::shared_ptr<McpSession> mcp;
    net::ResponsePtr stream;  // the GET stream, when open
    std::string keyId;        // the API key that started it: only that key may use it
  };

  static void sendJson(const net::ResponsePtr& res, int status, const Value& body, net::Headers h = {}) {
    h.emplace_back("content-type", "application/json");
    res->send(status, toJsonText(body), std::move(h));
  }

  void broadcast(const Value& msg) {
    for (auto& [id, s] : sessions_)
      if (s.stream) s.stream->write(sseEvent(msg));
  }

  // The session a request names, or null after answering 400/404.
  Session* sessionFor(const net::ServerRequest& rq, const net::ResponsePtr& res) {
    std::string sid = rq.header("mcp-session-id");
    if (sid.empty()) {
      sendJson(res, 400, rpcError(Value(), -32000, "Bad Request: an Mcp-Session-Id header is required (initialize first)"));
      return nullptr;
    }
    auto it = sessions_.find(sid);
    // Another key's session is answered as one that does not exist.
    if (it == sessions_.end() || it->second.keyId != (caller_ ? caller_->id : "")) {
      sendJson(res, 404, rpcError(Value(), -32001, "Session not found: it ended; initialize a new one"));
      return nullptr;
    }
    std::string pv = rq.header("mcp-protocol-version");
    if (!pv.empty() && !knownRevision(pv)) {
      sendJson(res, 400, rpcError(Value(), -32000, "Bad Request: unsupported MCP-Protocol-Version '" + pv +
                                                       "' (this server speaks 2025-06-18, 2025-03-26, 2024-11-05)"));
      return nullptr;
    }
    return &it->second;
  }

  void handle(const net::ServerRequest& rq, const net::ResponsePtr& res) {
    if (rq.path != "/mcp") {
      res->send(404, "not found: the MCP endpoint is /mcp", {{"content-type", "text/plain"}});
      return;
    }
    if (!originAllowed(rq.header("origin"))) {
      sendJson(res, 403, rpcError(Value(), -32000, "Forbidden: Origin '" + rq.header("origin") + "' is not this machine"));
      return;
    }
    // With API keys, every request carries one (Authorization: Bearer lsk_...): 401 without a
    // valid one, before any session or tool is looked up; 403 for a spell the key may not use;
    // 429 when its rate or budget is spent. Handled whole on the loop, so caller_ is this request's.
    caller_.reset();
    if (access_) {
      serve::Decision d = access_->authorize(rq.header("authorization"), tools_->onlySpell());
      if (!d.allowed) {
        net::Headers h;
        if (d.status == 401) h.emplace_back("www-authenticate", "Bearer");
        if (d.retryAfter > 0) h.emplace_back("retry-after", std::to_string(static_cast<long long>(std::ceil(d.retryAfter))));
        sendJson(res, d.status, rpcError(Value(), -32000, d.code + ": " + d.message), std::move(h));
        return;
      }
      caller_ = d.key;
    }
    if (rq.method == "POST") {
      post(rq, res);
    } else if (rq.method == "GET") {
      get(rq, res);
    } else if (rq.method == "DELETE") {
      if (!sessionFor(rq, res)) return;
      auto it = sessions_.find(rq.header("mcp-session-id"));
      Session s = std::move(it->second);
      sessions_.erase(it);
      s.mcp->cancelAll();
      if (s.stream) s.stream->end();
      res->send(200, "");
    } else {
      res->send(405, "method not allowed: POST, GET or DELETE", {{"allow", "GET, POST, DELETE"}});
    }
  }

  void post(const net::ServerRequest& rq, const net::ResponsePtr& res) {
    std::string accept = rq.header("accept");
    if (!accepts(accept, "application/json") && !accepts(accept, "text/event-stream")) {
      sendJson(res, 406, rpcError(Value(), -32000, "Not Acceptable: accept application/json and text/event-stream"));
      return;
    }
    Value msg;
    try {
      msg = parseJson(rq.body, 1u << 20);
    } catch (const Exception& e) {
      sendJson(res, 400, rpcError(Value(), -32700, "parse error: " + e.error().message));
      return;
    }
    if (msg.isArray()) {
      sendJson(res, 400, rpcError(Value(), -32600, "invalid request: batches are not supported (revision 2025-06-18 removed them)"));
      return;
    }
    bool isRequest = msg.isObject() && msg.get("method").isString() && msg.asObject().find("id");
    net::Headers extra;
    std::shared_ptr<McpSession> mcp;
    if (isRequest && msg.getString("method") == "initialize") {
      if (!rq.header("mcp-session-id").empty()) {
        sendJson(res, 400, rpcError(msg.get("id"), -32600, "initialize starts a session: send it without Mcp-Session-Id"));
        return;
      }
      std::string sid = newSessionId();
      mcp = std::make_shared<McpSession>(tools_);
      if (caller_) {
        std::weak_ptr<McpTools> tools = tools_;
        mcp->visible = [key = *caller_, tools](const std::string& tool) {
          auto t = tools.lock();
          return t && key.allowsSpell(t->spellOf(tool));
        };
      }
      sessions_[sid] = Session{mcp, nullptr, caller_ ? caller_->id : ""};
      extra.emplace_back("mcp-session-id", sid);
    } else {
      Session* s = sessionFor(rq, res);
      if (!s) return;
      mcp = s->mcp;
    }
    if (!isRequest) {  // notifications and responses: accepted, nothing to answer
      mcp->handle(msg, [](const Value&, bool) {});
      res->send(202, "");
      return;
    }
    // A tools/call answers as an SSE stream (its progress, then its result); the rest as JSON.
    if (msg.getString("method") == "tools/call" && accepts(accept, "text/event-stream")) {
      extra.emplace_back("content-type", "text/event-stream");
      extra.emplace_back("cache-control", "no-cache");
      res->writeHead(200, extra);
      // A client that goes away gives the call up: its tool is cancelled.
      std::weak_ptr<McpSession> weakMcp = mcp;
      Loop* loop = &loop_;
      Value id = msg.get("id");
      res->onPeerClose([loop, weakMcp, id] {
        loop->post([weakMcp, id] {
          if (auto m = weakMcp.lock()) m->cancel(id);
        });
      });
      mcp->handle(msg, [res](const Value& m, bool last) {
        if (!m.isNull()) res->write(sseEvent(m));
        if (last) res->end();
      });
      return;
    }
    mcp->handle(msg, [res, extra](const Value& m, bool last) {
      if (!last) return;
      if (m.isNull())
        res->send(204, "");
      else
        sendJson(res, 200, m, extra);
    });
  }

  // The stream for messages outside a request (notifications/tools/list_changed).
  void get(const net::ServerRequest& rq, const net::ResponsePtr& res) {
    if (!accepts(rq.header("accept"), "text/event-stream")) {
      res->send(406, "Not Acceptable: the GET stream is text/event-stream");
      return;
    }
    Session* s = sessionFor(rq, res);
    if (!s) return;
    if (s->stream && !s->stream->ended() && !s->stream->peerClosed()) {
      sendJson(res, 409, rpcError(Value(), -32000, "Conflict: this session already has a GET stream"));
      return;
    }
    res->writeHead(200, {{"content-type", "text/event-stream"}, {"cache-control", "no-cache"}});
    res->write(": stream open\n\n");  // the headers go at once, not with the first event
    s->stream = res;
  }

  Loop& loop_;
  std::shared_ptr<McpTools> tools_;
  std::shared_ptr<serve::Access> access_;
  std::optional<serve::KeyInfo> caller_;  // the current request's key
  asio::signal_set signals_;
  std::unique_ptr<net::TestHttpServer> server_;
  std::map<std::string, Session> sessions_;
};

// The HTTP server lives as long as the run.
struct HttpServers {
  std::vector<std::shared_ptr<HttpServer>> list;
};

PromisePtr serve(RunContext& run, std::shared_ptr<McpTools> tools, const McpServeOptions& o) {
  if (o.http.empty()) {
    auto server = std::make_shared<StdioServer>(run.loop(), std::move(tools), mcpProtocolFd());
    server->start();
    return server->done;
  }
  std::string host = "127.0.0.1", port = o.http;
  if (size_t colon = o.http.rfind(':'); colon != std::string::npos) {
    host = o.http.substr(0, colon);
    port = o.http.substr(colon + 1);
    if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  }
  int p = -1;
  try {
    size_t used = 0;
    p = std::stoi(port, &used);
    if (used != port.size()) p = -1;
  } catch (const std::exception&) {
  }
  if (p < 0 || p > 65535) fail(codes::kInvalidArgument, "mcp serve --http: '" + o.http + "' is not [ADDR:]PORT");
  size_t active = 0;
  auto access = serve::openKeys(o.keysPath, o.requireKeys, &active);
  if (access) std::fprintf(stderr, "llmspell mcp: API keys required (%zu active)\n", active);
  serve::warnIfOpen(host, access != nullptr, "call these tools");
  auto server = std::make_shared<HttpServer>(run.loop(), std::move(tools), std::move(access));
  server->start(host, p);
  run.service<HttpServers>([] { return std::make_shared<HttpServers>(); }).list.push_back(server);
  return server->done;
}

// --- --spells DIR ---------------------------------------------------------------------------

// The tools of every spell in a directory, each served by its own `llmspell mcp serve SPELL`
// child (its own manifest, its own grants), named "<spell>__<tool>": the separator models
// accept in a tool name, where a '.' would be refused by some of them.
class SpellsTools : public McpTools, public std::enable_shared_from_this<SpellsTools> {
 public:
  SpellsTools(RunContext& run, std::string dir) : run_(run), dir_(std::move(dir)) {
    std::error_code ec;
    fs::path abs = fs::weakly_canonical(fs::absolute(dir_, ec), ec);
    name_ = (abs.empty() ? fs::path(dir_) : abs).filename().string() + " (spells)";
  }
  ~SpellsTools() override {
    for (auto& c : children_) c.client->close(false);
  }

  std::string name() const override { return name_; }
  std::string spellOf(const std::string& tool) const override {
    // From what is served, not the name's text: a spell's own name may hold "__".
    auto it = std::find_if(served_.begin(), served_.end(), [&](const auto& s) { return s.first == tool; });
    return it == served_.end() ? std::string() : it->second.spell;
  }
  std::string onlySpell() const override { return ""; }

  Value list() override {
    Value out = Value::array();
    for (const auto& [name, t] : served_) {
      Value def = t.def.deepCopy();
      def.asObject().set("name", name);
      out.asArray().push(def);
    }
    return out;
  }

  bool has(const std::string& tool) override {
    return std::any_of(served_.begin(), served_.end(), [&](const auto& s) { return s.first == tool; });
  }

  PromisePtr call(const std::string& tool, const Value& args, ProgressFn progress) override {
    auto it = std::find_if(served_.begin(), served_.end(), [&](const auto& s) { return s.first == tool; });
    const Served& s = it->second;
    tools::McpClient::ProgressFn onProgress;
    if (progress)
      onProgress = [progress](const Value& p) {
        Value q = p.deepCopy();
        q.asObject().erase("progressToken");
        progress(std::move(q));
      };
    // No timeout of its own: the client decides how long it waits (and cancels).
    PromisePtr p = s.client->request("tools/call", Value::object({{"name", s.tool}, {"arguments", args}}),
                                     std::move(onProgress), 0);
    auto out = Promise::create();
    out->setCanceller([p] { p->cancel(); });
    p->onSettle([out](const Promise& q) {
      if (!out->pending()) {
        if (q.rejected()) const_cast<Promise&>(q).markHandled();
        return;
      }
      if (q.fulfilled()) {
        out->resolve(q.value());
        return;
      }
      const_cast<Promise&>(q).markHandled();
      out->resolve(textResult("error[" + q.error().code + "]: " + q.error().message, true));
    });
    return out;
  }

  // Starts a child per spell; resolves when each has answered tools/list or failed (reported on
  // stderr). Rejects when none could be served.
  PromisePtr start(const McpServeOptions& o) {
    std::vector<std::pair<std::string, std::string>> spells;  // name, path
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_, ec)) {
      std::string file = e.path().filename().string();
      if (file.starts_with(".")) continue;
      std::string ext = e.path().extension().string(), stem = e.path().stem().string();
      if (e.is_directory() && fs::exists(e.path() / "spell.yaml")) {
        spells.emplace_back(file, fs::absolute(e.path()).string());
      } else if (e.is_regular_file() && (ext == ".lua" || ext == ".js" || ext == ".tengo") && !stem.ends_with("_test")) {
        spells.emplace_back(stem, fs::absolute(e.path()).string());
      }
    }
    if (ec) fail(codes::kNotFound, "mcp serve --spells: cannot read " + dir_ + ": " + ec.message());
    std::sort(spells.begin(), spells.end());
    if (spells.empty())
      fail(codes::kInvalidArgument, "mcp serve --spells: no spells in " + dir_ +
                                        " (a spell is a subdirectory with spell.yaml, or a .lua, .js or .tengo file)");
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) env.emplace_back(*e);
    std::string self = fs::read_symlink("/proc/self/exe", ec).string();
    std::vector<PromisePtr> started;
    for (auto& [rawName, path] : spells) {
      std::string name = rawName;
      for (char& ch : name)
        if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '-') ch = '_';
      tools::McpOptions co;
      co.argv = {self, "mcp", "serve", path};
      if (o.builtins) co.argv.push_back("--builtins");
      co.envp = env;
      // Each in its own directory: a spell's relative paths mean what they mean when it runs alone.
      co.cwd = fs::is_directory(path) ? path : fs::path(path).parent_path().string();
      co.timeout = 60;  // initialize and tools/list: the spell's main runs first
      co.label = "spell '" + name + "'";
      started.push_back(startChild(name, std::move(co)));
    }
    std::weak_ptr<SpellsTools> weak = weak_from_this();
    return promiseThen(promiseAllSettled(started), [weak](const Value& results) -> Value {
      auto self = weak.lock();
      if (!self) fail(codes::kCancelled, "mcp serve: stopped");
      size_t ok = 0;
      for (const auto& r : results.asArray())
        if (r.getString("status") == "fulfilled") ++ok;
      if (ok == 0) fail(codes::kConfigError, "mcp serve --spells: no spell in " + self->dir_ + " could be served");
      // Children answer in whatever order they started in: list by spell, each in its own order.
      std::stable_sort(self->served_.begin(), self->served_.end(),
                       [](const auto& a, const auto& b) { return a.second.spell < b.second.spell; });
      return Value();
    });
  }

 private:
  struct Served {
    std::shared_ptr<tools::McpClient> client;
    std::string tool;
    Value def;
    std::string spell;
  };
  struct Child {
    std::string name;
    std::shared_ptr<tools::McpClient> client;
  };

  PromisePtr startChild(const std::string& name, tools::McpOptions co) {
    auto report = [name](const Error& e) {
      std::fprintf(stderr, "llmspell mcp: spell '%s' is not served: error[%s]: %s\n", name.c_str(), e.code.c_str(),
                   e.message.c_str());
      std::fflush(stderr);
    };
    std::shared_ptr<tools::McpClient> c;
    try {
      c = tools::McpClient::spawn(run_.loop(), std::move(co));
    } catch (const Exception& e) {
      report(e.error());
      return Promise::rejected(e.error());
    }
    children_.push_back({name, c});
    auto out = Promise::create();
    std::weak_ptr<SpellsTools> weak = weak_from_this();
    auto failed = [out, c, report](const Promise& q) {
      const_cast<Promise&>(q).markHandled();
      report(q.error());
      c->close(false);
      out->reject(q.error());
    };
    c->initialize()->onSettle([weak, c, name, out, failed](const Promise& q) {
      if (q.rejected()) return failed(q);
      c->listAll("tools/list", "tools")->onSettle([weak, c, name, out, failed](const Promise& l) {
        if (l.rejected()) return failed(l);
        auto self = weak.lock();
        if (!self) return out->resolve(Value());
        for (const auto& t : l.value().asArray()) {
          std::string tool = t.getString("name");
          if (!tool.empty()) self->served_.emplace_back(name + "__" + tool, Served{c, tool, t, name});
        }
        out->resolve(Value());
      });
    });
    return out;
  }

  RunContext& run_;
  std::string dir_, name_;
  std::vector<Child> children_;
  std::vector<std::pair<std::string, Served>> served_;  // by spell, then in each spell's order
};

struct SpellsHolder {
  std::shared_ptr<SpellsTools> tools;
};

}  // namespace

int mcpProtocolFd() {
  // stdout becomes the protocol's alone: the spell's prints and logs go to stderr from here on.
  static int fd = [] {
    std::fflush(stdout);
    int saved = ::dup(STDOUT_FILENO);
    ::dup2(STDERR_FILENO, STDOUT_FILENO);
    return saved;
  }();
  return fd;
}

PromisePtr serveMcp(RunContext& run, const McpServeOptions& o) {
  if (o.spellsDir.empty()) return serve(run, std::make_shared<RunTools>(run, o.builtins), o);
  auto tools = std::make_shared<SpellsTools>(run, o.spellsDir);
  run.service<SpellsHolder>([] { return std::make_shared<SpellsHolder>(); }).tools = tools;
  PromisePtr started = tools->start(o);
  auto out = Promise::create();
  RunContext* r = &run;
  McpServeOptions opts = o;
  started->onSettle([r, tools, out, opts](const Promise& q) {
    if (q.rejected()) {
      const_cast<Promise&>(q).markHandled();
      out->reject(q.error());
      return;
    }
    try {
      serve(*r, tools, opts)->onSettle([out](const Promise& d) {
        if (d.rejected()) {
          const_cast<Promise&>(d).markHandled();
          out->reject(d.error());
        } else {
          out->resolve(Value());
        }
      });
    } catch (const Exception& e) {
      out->reject(e.error());
    }
  });
  return out;
}

}  // namespace llmspell::cli
