// `llmspell mcp serve SPELL`: the spell runs once (its manifest's grants and limits, or the
// allow flags), then the tools it defined (tools.define, agents as tools) are served to an MCP
// client over stdio: JSON-RPC 2.0, one message per line, until the client closes stdin.
// The spell's own output (print, log lines) goes to stderr: stdout carries only the protocol.
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "cli/commands.hpp"
#include "llmspell/bridge/registry.hpp"
#include "llmspell/core/convert.hpp"
#include "llmspell/runtime/asio.hpp"
#include "llmspell/runtime/loop.hpp"
#include "llmspell/tools/tools.hpp"

namespace llmspell::cli {
namespace {

// Revisions this server speaks, newest first: it answers with the client's when it knows it.
constexpr const char* kRevisions[] = {"2025-06-18", "2025-03-26", "2024-11-05"};

struct McpServer : std::enable_shared_from_this<McpServer> {
  McpServer(RunContext& r, int out) : run(r), in(r.loop().io(), ::dup(STDIN_FILENO)), outFd(out) {}

  RunContext& run;
  asio::posix::stream_descriptor in;
  asio::streambuf buf;
  int outFd;
  PromisePtr done = Promise::create();
  bool builtins = false;
  int inflight = 0;  // tool calls not answered yet
  bool ended = false;  // stdin is closed: the session ends once the calls in flight are answered

  void finishIfDone() {
    if (ended && inflight == 0 && !done->fulfilled()) done->resolve(Value());
  }

  void send(const Value& msg) {
    std::string line = toJsonText(msg) + "\n";
    size_t at = 0;
    while (at < line.size()) {
      ssize_t n = ::write(outFd, line.data() + at, line.size() - at);
      if (n <= 0) return;  // the client went away; reading ends the session
      at += static_cast<size_t>(n);
    }
  }
  void reply(const Value& id, Value result) {
    send(Value::object({{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}}));
  }
  void error(const Value& id, int code, const std::string& message) {
    send(Value::object({{"jsonrpc", "2.0"},
                        {"id", id},
                        {"error", Value::object({{"code", static_cast<int64_t>(code)}, {"message", message}})}}));
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

  std::vector<tools::ToolPtr> served() {
    std::vector<tools::ToolPtr> out;
    for (const auto& t : tools::toolsFor(run).list())
      if (builtins || !t->builtin) out.push_back(t);
    return out;
  }

  void handle(const std::string& line) {
    if (line.find_first_not_of(" \t\r\n") == std::string::npos) return;
    Value msg;
    try {
      msg = parseJson(line, 1u << 20);
    } catch (const Exception& e) {
      error(Value(), -32700, "parse error: " + e.error().message);
      return;
    }
    if (!msg.isObject() || !msg.get("method").isString()) {
      if (msg.isObject() && !msg.get("id").isNull() && msg.get("method").isNull()) return;  // a response: none expected
      error(msg.isObject() ? msg.get("id") : Value(), -32600, "invalid request: expected a JSON-RPC 2.0 object with a method");
      return;
    }
    const std::string method = msg.getString("method");
    const Value id = msg.get("id");
    const Value& params = msg.get("params");
    bool notification = !msg.isObject() || !msg.asObject().find("id");
    if (notification) return;  // notifications/initialized, cancelled, ...: nothing to answer
    if (method == "initialize") {
      std::string want = params.getString("protocolVersion");
      std::string use = kRevisions[0];
      for (const char* r : kRevisions)
        if (want == r) use = r;
      reply(id, Value::object({{"protocolVersion", use},
                               {"capabilities", Value::object({{"tools", Value::object({{"listChanged", false}})}})},
                               {"serverInfo", Value::object({{"name", "llmspell: " + run.spellName}, {"version", "0.1.0"}})}}));
    } else if (method == "ping") {
      reply(id, Value::object());
    } else if (method == "tools/list") {
      Value list = Value::array();
      for (const auto& t : served()) {
        Value schema = t->parameters.isObject() ? t->parameters : Value::object({{"type", "object"}});
        list.asArray().push(Value::object({{"name", t->name}, {"description", t->description}, {"inputSchema", schema}}));
      }
      reply(id, Value::object({{"tools", list}}));
    } else if (method == "tools/call") {
      std::string name = params.getString("name");
      auto tools = served();
      bool known = std::any_of(tools.begin(), tools.end(), [&](const tools::ToolPtr& t) { return t->name == name; });
      if (!known) {
        error(id, -32602, "unknown tool '" + name + "'");
        return;
      }
      Value args = params.get("arguments").isObject() ? params.get("arguments") : Value::object();
      // A client that asks for progress (_meta.progressToken) gets ctx.progress(done, total,
      // message) in the tool, each call a notifications/progress.
      Value ctx = Value::object({{"caller", "mcp"}});
      const Value& token = params.get("_meta").get("progressToken");
      if (token.isString() || token.isNumber()) {
        std::weak_ptr<McpServer> weak = weak_from_this();
        auto progress = std::make_shared<HostFunction>(
            [weak, token](std::vector<Value> a) -> PromisePtr {
              auto self = weak.lock();
              if (!self) return Promise::resolved(Value());
              Value p = Value::object({{"progressToken", token},
                                       {"progress", a.size() > 0 && a[0].isNumber() ? a[0] : Value(0)}});
              if (a.size() > 1 && a[1].isNumber()) p.asObject().set("total", a[1]);
              if (a.size() > 2 && a[2].isString()) p.asObject().set("message", a[2]);
              self->send(Value::object({{"jsonrpc", "2.0"}, {"method", "notifications/progress"}, {"params", p}}));
              return Promise::resolved(Value());
            },
            "progress");
        ctx.asObject().set("progress", Value(FunctionPtr(progress)));
      }
      PromisePtr p;
      try {
        p = tools::toolsFor(run).call(name, args, ctx);
      } catch (const Exception& e) {
        p = Promise::rejected(e.error());
      }
      ++inflight;
      p->onSettle([self = shared_from_this(), id](const Promise& q) {
        --self->inflight;
        struct Done {
          McpServer* s;
          ~Done() { s->finishIfDone(); }
        } after{self.get()};
        if (q.fulfilled()) {
          const Value& v = q.value();
          std::string text;
          try {
            text = v.isString() ? v.asString() : toJsonText(v);
          } catch (const Exception&) {
            text = v.describe();
          }
          Value result = Value::object({{"content", Value::array({Value::object({{"type", "text"}, {"text", text}})})},
                                        {"isError", false}});
          if (v.isObject()) result.asObject().set("structuredContent", v);
          self->reply(id, result);
        } else {
          // A tool's failure is a result the model can read (isError), not a protocol error.
          const Error& e = q.error();
          self->reply(id, Value::object({{"content", Value::array({Value::object(
                                                          {{"type", "text"}, {"text", "error[" + e.code + "]: " + e.message}})})},
                                         {"isError", true}}));
        }
      });
    } else {
      error(id, -32601, "method not found: " + method + " (this server offers tools: tools/list and tools/call)");
    }
  }
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

PromisePtr serveMcpStdio(RunContext& run, bool builtins) {
  auto server = std::make_shared<McpServer>(run, mcpProtocolFd());
  server->builtins = builtins;
  server->readNext();
  return server->done;
}

}  // namespace llmspell::cli
