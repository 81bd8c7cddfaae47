// `mcp` namespace: a Model Context Protocol client (tools/mcp.hpp). mcp.connect starts a server
// process over stdio and returns a client handle; with a prefix, the server's tools are defined
// in the run's tool registry as "<prefix>.<tool>", so tools.call and agents use them like any
// tool (validation against the server's JSON Schema, approvals, hooks, events, timeouts).
//
// Over Streamable HTTP (url), the same client speaks to an HTTP endpoint; the run's net grant
// covers the host.
//
// The child's environment is exactly `env` from the spell. When `env` has no PATH the child gets
// PATH=/usr/local/bin:/usr/bin:/bin (a fixed value, not the runtime's own PATH), so that a
// server started through `#!/usr/bin/env node` finds its interpreter; nothing of the runtime's
// environment reaches the child.
#include <memory>
#include <string>
#include <vector>

#include "llmspell/bridge/registry.hpp"
#include "llmspell/core/convert.hpp"
#include "llmspell/core/error.hpp"
#include "llmspell/net/http.hpp"
#include "llmspell/runtime/promise.hpp"
#include "llmspell/tools/mcp.hpp"
#include "llmspell/tools/tools.hpp"

namespace llmspell {
namespace {

using tools::McpClient;

constexpr const char* kDefaultPath = "/usr/local/bin:/usr/bin:/bin";

class McpHandle : public HostObject {
 public:
  std::string_view typeName() const override { return "mcp_client"; }
  std::shared_ptr<McpClient> client;
  std::string prefix;
  std::vector<std::string> registered;  // tool names defined in the run's registry
  FunctionPtr onProgress;
  FunctionPtr onNotification;
  Value approval;  // requires_approval: true (every tool) or a list of the server's tool names
};
using McpHandlePtr = std::shared_ptr<McpHandle>;

// The run's MCP clients: their servers are ended with the run. Requests still pending are
// dropped unsettled: the spell that waited on them is gone.
struct McpSessions {
  std::vector<std::weak_ptr<McpClient>> clients;
  ~McpSessions() {
    for (auto& w : clients)
      if (auto c = w.lock()) c->close(false);
  }
};

McpHandle& handleOf(const Value& v) {
  auto* h = v.isHandle() ? dynamic_cast<McpHandle*>(v.asHandle().get()) : nullptr;
  if (!h) fail(codes::kInvalidArgument, "expected an MCP client made by mcp.connect");
  return *h;
}

McpClient& open(McpHandle& h) {
  if (h.client->closed()) fail(codes::kInvalidArgument, h.client->label() + " is closed");
  return *h.client;
}

// Progress params forwarded to a spell callback as {progress, total, message, tool}.
McpClient::ProgressFn progressTo(const FunctionPtr& fn, const std::string& tool) {
  if (!fn) return {};
  return [fn, tool](const Value& p) {
    Value ev = Value::object({{"progress", p.get("progress")}, {"tool", tool}});
    if (!p.get("total").isNull()) ev.asObject().set("total", p.get("total"));
    if (!p.get("message").isNull()) ev.asObject().set("message", p.get("message"));
    PromisePtr r = fn->call({ev});
    r->onSettle([](const Promise& q) {
      if (q.rejected()) const_cast<Promise&>(q).markHandled();
    });
  };
}

PromisePtr callTool(const std::shared_ptr<McpClient>& c, const std::string& name, Value args,
                    McpClient::ProgressFn onProgress, double timeout = -1) {
  if (!args.isObject()) args = Value::object();
  PromisePtr p = c->request("tools/call", Value::object({{"name", name}, {"arguments", args}}),
                            std::move(onProgress), timeout);
  std::string label = c->label();
  return promiseThen(p, [label, name](const Value& r) { return tools::mcpToolResult(r, label, name); });
}

// Defines the server's tools as "<prefix>.<name>", replacing the previous set (a tools/list_changed
// notification re-lists).
void defineTools(RunContext& run, const McpHandlePtr& h, const Value& list) {
  auto& reg = tools::toolsFor(run);
  std::vector<std::string> names;
  std::weak_ptr<McpClient> weak = h->client;
  std::weak_ptr<McpHandle> weakH = h;
  for (const auto& d : list.asArray()) {
    std::string name = d.getString("name");
    if (name.empty()) continue;
    tools::Tool t;
    t.name = h->prefix + "." + name;
    t.description = d.getString("description", d.getString("title"));
    t.category = "mcp";
    // The grant connect needed: run for a child process; over HTTP every POST is checked
    // against the net grant anyway.
    t.permission = h->client->isHttp() ? "none" : "run";
    Value schema = d.get("inputSchema").isObject() ? d.get("inputSchema").deepCopy()
                                                   : Value::object({{"type", "object"}});
    schema.asObject().erase("$schema");  // draft-07 marker; the registry's validator needs none
    t.parameters = schema;
    if (h->approval.isArray()) {
      for (const auto& n : h->approval.asArray()) t.requiresApproval = t.requiresApproval || n == Value(name);
    } else {
      t.requiresApproval = h->approval.truthy();
    }
    t.run = [weak, weakH, name](const Value& args, tools::ToolEnv&) -> PromisePtr {
      auto c = weak.lock();
      if (!c || c->closed())
        return Promise::rejected(Error(codes::kInvalidArgument, "the MCP client serving '" + name + "' is closed"));
      auto hh = weakH.lock();
      return callTool(c, name, args, progressTo(hh ? hh->onProgress : nullptr, name));
    };
    try {
      reg.define(std::move(t));
      names.push_back(h->prefix + "." + name);
    } catch (const Exception&) {
      // A name the registry refuses (too long, odd characters) is left out, not fatal: the tool
      // is still reachable through client:call.
    }
  }
  for (const auto& old : h->registered)
    if (std::find(names.begin(), names.end(), old) == names.end()) reg.remove(old);
  h->registered = std::move(names);
}

void undefineTools(RunContext& run, McpHandle& h) {
  auto& reg = tools::toolsFor(run);
  for (const auto& n : h.registered) reg.remove(n);
  h.registered.clear();
}

constexpr const char* kConnectSchema = R"J({"type":"object","properties":{
  "command":{"type":"string","description":"the server program (looked up on PATH)"},
  "args":{"type":"array","items":{"type":"string"},"description":"its arguments"},
  "env":{"type":"object","description":"the child's whole environment (see the mcp docs for PATH)"},
  "cwd":{"type":"string","description":"working directory (default: the spell's base directory)"},
  "url":{"type":"string","description":"a Streamable HTTP endpoint (needs --allow-net for its host)"},
  "headers":{"type":"object","description":"extra HTTP request headers (url only), e.g. authorization"},
  "prefix":{"type":"string","description":"defines the server's tools as prefix.name in the tool registry"},
  "timeout":{"type":"number","minimum":0,"description":"seconds per request (default 30; 0 = none)"},
  "name":{"type":"string","description":"names the server in messages"},
  "requires_approval":{"type":["boolean","array"],"items":{"type":"string"},"description":"true, or the server's tool names whose calls need approval (--approve, tools.set_approver)"},
  "on_progress":{"type":"function","description":"on_progress({progress, total, message, tool}) for tool calls"},
  "on_notification":{"type":"function","description":"on_notification({method, params}) for each notification the server sends (list changes, log messages)"}
},"additionalProperties":false})J";

PromisePtr connect(CallContext& cx, const Value& cfg) {
  const auto& perms = cx.run.permissions();
  std::string command = cfg.getString("command"), url = cfg.getString("url");
  if (command.empty() == url.empty())
    fail(codes::kInvalidArgument, "mcp.connect: give command (a server over stdio) or url (Streamable HTTP), not both");
  // The grant first: a spell without it learns nothing about the command or the host.
  if (!command.empty()) perms.checkRun("mcp.connect");
  std::string prefix = cfg.getString("prefix");
  for (char ch : prefix)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '-')
      fail(codes::kInvalidArgument, "mcp.connect: prefix '" + prefix + "' may use only letters, digits, _ and -");
  tools::McpOptions o;
  o.timeout = cfg.getNumber("timeout", 30);
  o.label = "mcp server '" + cfg.getString("name", !prefix.empty() ? prefix : !command.empty() ? command : url) + "'";
  auto h = std::make_shared<McpHandle>();
  h->prefix = prefix;
  if (cfg.get("on_progress").isFunction()) h->onProgress = cfg.get("on_progress").asFunction();
  if (cfg.get("on_notification").isFunction()) h->onNotification = cfg.get("on_notification").asFunction();
  h->approval = cfg.get("requires_approval");
  if (!url.empty()) {
    if (!cfg.get("args").isNull() || !cfg.get("env").isNull() || !cfg.get("cwd").isNull())
      fail(codes::kInvalidArgument, "mcp.connect: args, env and cwd are for a command, not a url");
    o.url = url;
    o.checkUrl = net::netPermissionCheck(perms);
    if (cfg.get("headers").isObject())
      for (const auto& [k, v] : cfg.get("headers").asObject())
        o.headers.emplace_back(k, v.isString() ? v.asString() : toJsonText(v));
    h->client = McpClient::http(cx.loop, std::move(o));
  } else {
    o.argv.push_back(command);
    if (cfg.get("args").isArray())
      for (const auto& v : cfg.get("args").asArray()) o.argv.push_back(v.asString());
    bool hasPath = false;
    if (cfg.get("env").isObject())
      for (const auto& [k, v] : cfg.get("env").asObject()) {
        if (k.empty() || k.find('=') != std::string::npos)
          fail(codes::kInvalidArgument, "mcp.connect: env name '" + k + "' is not a variable name");
        hasPath = hasPath || k == "PATH";
        o.envp.push_back(k + "=" + (v.isString() ? v.asString() : toJsonText(v)));
      }
    if (!hasPath) o.envp.push_back(std::string("PATH=") + kDefaultPath);
    std::string cwd = cfg.getString("cwd");
    Permissions::checkPathText(cwd);
    if (!cwd.empty())
      o.cwd = perms.resolve(cwd).string();
    else if (!perms.baseDir().empty())
      o.cwd = perms.baseDir().string();
    h->client = McpClient::spawn(cx.loop, std::move(o));
  }
  cx.run.service<McpSessions>([] { return std::make_shared<McpSessions>(); }).clients.push_back(h->client);

  RunContext* run = &cx.run;
  std::weak_ptr<McpHandle> weakH = h;
  h->client->onNotification([run, weakH](const std::string& method, const Value& params) {
    auto hh = weakH.lock();
    if (hh && hh->onNotification) {
      PromisePtr r = hh->onNotification->call({Value::object({{"method", method}, {"params", params}})});
      r->onSettle([](const Promise& q) {
        if (q.rejected()) const_cast<Promise&>(q).markHandled();
      });
    }
    if (!hh || method != "notifications/tools/list_changed" || hh->prefix.empty() ||
        hh->registered.empty())
      return;
    PromisePtr p = hh->client->listAll("tools/list", "tools");
    p->onSettle([run, weakH](const Promise& q) {
      auto h2 = weakH.lock();
      if (q.rejected()) {
        const_cast<Promise&>(q).markHandled();
        return;
      }
      if (h2 && !h2->client->closed()) defineTools(*run, h2, q.value());
    });
  });

  auto out = Promise::create();
  PromisePtr init = h->client->initialize();
  out->setCanceller([h, init] {
    init->cancel();
    h->client->close();
  });
  init->onSettle([run, h, out](const Promise& q) {
    if (!out->pending()) return;
    if (q.rejected()) {
      const_cast<Promise&>(q).markHandled();
      h->client->close();
      out->reject(q.error());
      return;
    }
    if (h->prefix.empty()) {
      out->resolve(Value(HostObjectPtr(h)));
      return;
    }
    PromisePtr list = h->client->listAll("tools/list", "tools");
    list->onSettle([run, h, out](const Promise& l) {
      if (!out->pending()) return;
      if (l.rejected()) {
        const_cast<Promise&>(l).markHandled();
        h->client->close();
        out->reject(l.error());
        return;
      }
      try {
        defineTools(*run, h, l.value());
      } catch (const Exception& e) {
        h->client->close();
        out->reject(e.error());
        return;
      }
      out->resolve(Value(HostObjectPtr(h)));
    });
  });
  return out;
}

}  // namespace

void llmspell_register_mcp(Registry& r) {
  r.type("mcp_client",
         "A connection to an MCP server: tools, call, resources, read, prompts, get_prompt, info, close");
  r.fn("mcp", "connect")
      .param("config", kConnectSchema,
             "{command, args, env, cwd | url, headers; prefix, requires_approval, timeout, name, on_progress, on_notification}")
      .returns("mcp_client")
      .doc("Connects to an MCP server, started over stdio (command: needs --allow-run) or over "
           "Streamable HTTP (url: needs --allow-net for its host); with prefix, defines its tools as prefix.name")
      .async([](CallContext& cx, Args a) { return connect(cx, a[0]); });

  auto listMethod = [&r](const char* name, const char* method, const char* key, const char* doc) {
    r.method("mcp_client", name)
        .param("self", R"({"type":"handle"})")
        .opt("opts", R"({"type":"object","properties":{"timeout":{"type":"number"}}})", "{timeout}")
        .returns(std::string("list of the server's ") + key + " (every page)")
        .doc(doc)
        .async([method = std::string(method), key = std::string(key)](CallContext&, Args a) {
          return open(handleOf(a[0])).listAll(method, key);
        });
  };
  listMethod("tools", "tools/list", "tools", "Lists the server's tools: {name, description, inputSchema, ...}");
  listMethod("resources", "resources/list", "resources", "Lists the server's resources: {uri, name, mimeType, ...}");
  listMethod("prompts", "prompts/list", "prompts", "Lists the server's prompts: {name, description, arguments}");

  r.method("mcp_client", "call")
      .param("self", R"({"type":"handle"})")
      .param("name", R"({"type":"string"})", "the server's tool name")
      .opt("args", R"({"type":"object"})", "the tool's arguments")
      .opt("opts", R"({"type":"object","properties":{"timeout":{"type":"number"},"on_progress":{"type":"function"}}})",
           "{timeout, on_progress}")
      .returns("{text, content, structured}; a result with isError rejects with provider_error")
      .doc("Calls a tool of the server (tools/call)")
      .async([](CallContext&, Args a) {
        McpHandle& h = handleOf(a[0]);
        open(h);
        FunctionPtr fn = a[3].get("on_progress").isFunction() ? a[3].get("on_progress").asFunction() : h.onProgress;
        return callTool(h.client, a[1].asString(), a[2], progressTo(fn, a[1].asString()));
      });
  r.method("mcp_client", "read")
      .param("self", R"({"type":"handle"})")
      .param("uri", R"({"type":"string"})")
      .opt("opts", R"({"type":"object","properties":{"timeout":{"type":"number"}}})", "{timeout}")
      .returns("the resource's contents: list of {uri, mimeType, text | blob}")
      .doc("Reads a resource of the server (resources/read)")
      .async([](CallContext&, Args a) {
        PromisePtr p = open(handleOf(a[0])).request("resources/read", Value::object({{"uri", a[1]}}));
        return promiseThen(p, [](const Value& v) { return v.get("contents"); });
      });
  r.method("mcp_client", "get_prompt")
      .param("self", R"({"type":"handle"})")
      .param("name", R"({"type":"string"})")
      .opt("args", R"({"type":"object"})", "the prompt's arguments (strings)")
      .opt("opts", R"({"type":"object","properties":{"timeout":{"type":"number"}}})", "{timeout}")
      .returns("{description, messages}")
      .doc("Gets a prompt of the server, filled with args (prompts/get)")
      .async([](CallContext&, Args a) {
        Value params = Value::object({{"name", a[1]}});
        if (a[2].isObject()) params.asObject().set("arguments", a[2]);
        return open(handleOf(a[0])).request("prompts/get", params);
      });
  r.method("mcp_client", "info")
      .param("self", R"({"type":"handle"})")
      .returns("{server, protocol_version, capabilities, instructions, pid, tools, closed}")
      .doc("What the server said about itself at initialization, its process id and the tool names defined")
      .sync([](CallContext&, Args a) -> Value {
        McpHandle& h = handleOf(a[0]);
        const Value& init = h.client->initResult();
        std::vector<Value> names(h.registered.begin(), h.registered.end());
        return Value::object({{"server", init.get("serverInfo")},
                              {"protocol_version", init.get("protocolVersion")},
                              {"capabilities", init.get("capabilities")},
                              {"instructions", init.get("instructions")},
                              {"pid", static_cast<int64_t>(h.client->pid())},
                              {"tools", Value::array(std::move(names))},
                              {"closed", h.client->closed()}});
      });
  r.method("mcp_client", "close")
      .param("self", R"({"type":"handle"})")
      .returns("nil")
      .doc("Removes the server's tools from the registry and ends the server process (also done when the spell ends)")
      .sync([](CallContext& cx, Args a) -> Value {
        McpHandle& h = handleOf(a[0]);
        undefineTools(cx.run, h);
        h.client->close();
        return Value();
      });
}

}  // namespace llmspell
