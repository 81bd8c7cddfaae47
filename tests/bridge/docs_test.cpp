// generateDocs: Markdown, JSON, LuaLS meta and TypeScript output from a small registry and from the
// global one.
#include "llmspell/bridge/docs.hpp"

#include <gtest/gtest.h>
#include <lua.hpp>

#include <set>

#include "llmspell/core/convert.hpp"

namespace llmspell {
namespace {

// A registry with one of each shape: sync, async with permission, a method, a global, a type.
Registry sampleRegistry() {
  Registry r;
  r.type("widget", "A thing with parts");
  r.fn("demo", "greet")
      .param("name", R"({"type":"string"})", "who to greet")
      .opt("opts", R"({"type":"object","properties":{"loud":{"type":"boolean"}}})", "{loud}")
      .returns("string: the greeting")
      .doc("Says hello")
      .sync([](CallContext&, Args) -> Value { return Value("hi"); });
  r.fn("demo", "fetch")
      .param("url", R"({"type":"string"})")
      .opt("mode", R"({"enum":["fast","slow"],"default":"fast"})")
      .opt("tags", R"({"type":"array","items":{"type":"string"}})")
      .permission(Permission::kNet)
      .returns("widget")
      .doc("Fetches a widget")
      .async([](CallContext&, Args) { return Promise::resolved(Value()); });
  r.method("widget", "parts")
      .param("self", R"({"type":"handle"})")
      .opt("limit", R"({"type":"integer","minimum":1})")
      .returns("array of strings")
      .doc("The widget's parts")
      .sync([](CallContext&, Args) -> Value { return Value::array(); });
  r.fn("", "pause")
      .param("seconds", R"({"type":"number"})")
      .returns("nil")
      .doc("Waits")
      .async([](CallContext&, Args) { return Promise::resolved(Value()); });
  return r;
}

TEST(Docs, MarkdownHasSignaturesParamsAndNotes) {
  Registry r = sampleRegistry();
  std::string md = generateDocs(r, "md");
  EXPECT_NE(md.find("## demo"), std::string::npos);
  EXPECT_NE(md.find("### `demo.greet(name, opts?)`"), std::string::npos) << md;
  EXPECT_NE(md.find("| `name` | string | yes |  | who to greet |"), std::string::npos) << md;
  EXPECT_NE(md.find("### `demo.fetch(url, mode?, tags?)` *async*"), std::string::npos);
  EXPECT_NE(md.find("| `mode` | \"fast\" \\| \"slow\" | no | `\"fast\"` |"), std::string::npos)
      << md;
  EXPECT_NE(md.find("array of string"), std::string::npos);
  EXPECT_NE(md.find("`demo.fetch_async(url, mode?, tags?)` returns a promise"), std::string::npos);
  EXPECT_NE(md.find("**Permission:** needs `--allow-net`"), std::string::npos);
  EXPECT_NE(md.find("## type `widget`"), std::string::npos);
  EXPECT_NE(md.find("### `widget:parts(limit?)`"), std::string::npos) << md;
  EXPECT_NE(md.find("## Globals"), std::string::npos);
  EXPECT_NE(md.find("### `pause(seconds)` *async*"), std::string::npos);
}

TEST(Docs, JsonIsMachineReadable) {
  Registry r = sampleRegistry();
  Value doc = parseJson(generateDocs(r, "json"));
  EXPECT_EQ(doc.getString("format"), "llmspell-api");
  const auto& nss = doc.get("namespaces").asArray();
  ASSERT_EQ(nss.size(), 1u);
  EXPECT_EQ(nss[0].getString("name"), "demo");
  const Value& fetch = nss[0].get("functions").asArray()[1];
  EXPECT_EQ(fetch.getString("qualified_name"), "demo.fetch");
  EXPECT_TRUE(fetch.getBool("async"));
  EXPECT_EQ(fetch.getString("async_twin"), "demo.fetch_async(url, mode?, tags?)");
  EXPECT_EQ(fetch.getString("permission"), "--allow-net");
  EXPECT_EQ(fetch.get("params").asArray()[1].getString("default"), "fast");
  EXPECT_EQ(fetch.get("params").asArray()[0].get("schema").getString("type"), "string");
  const Value& widget = doc.get("types").asArray()[0];
  EXPECT_EQ(widget.getString("name"), "widget");
  EXPECT_EQ(widget.get("methods").asArray()[0].get("params").asArray().size(), 1u);  // no self
  EXPECT_EQ(doc.get("globals").asArray()[0].getString("name"), "pause");
}

TEST(Docs, LuaMetaAnnotations) {
  Registry r = sampleRegistry();
  std::string meta = generateDocs(r, "lua-meta");
  EXPECT_EQ(meta.rfind("---@meta\n", 0), 0u);
  EXPECT_NE(meta.find("---@class widget\nlocal __widget = {}"), std::string::npos) << meta;
  EXPECT_NE(meta.find("---@param limit? integer\n---@return any[]"), std::string::npos) << meta;
  EXPECT_NE(meta.find("function __widget:parts(limit) end"), std::string::npos);
  EXPECT_NE(meta.find("demo = {}"), std::string::npos);
  EXPECT_NE(meta.find("---@param name string who to greet\n"), std::string::npos);
  EXPECT_NE(
      meta.find("---@return string # string: the greeting\nfunction demo.greet(name, opts) end"),
      std::string::npos)
      << meta;
  EXPECT_NE(meta.find("---@async\n---@param url string\n---@param mode? \"fast\"|\"slow\"\n"
                      "---@param tags? string[]\n---@return widget"),
            std::string::npos)
      << meta;
  EXPECT_NE(
      meta.find("---@return promise # widget\nfunction demo.fetch_async(url, mode, tags) end"),
      std::string::npos)
      << meta;
  EXPECT_NE(meta.find("function pause(seconds) end"), std::string::npos);
  EXPECT_NE(meta.find("function pause_async(seconds) end"), std::string::npos);
}

// The stub file must be valid Lua, for the real registry too.
void expectValidLua(const std::string& code) {
  lua_State* L = luaL_newstate();
  int rc = luaL_loadbufferx(L, code.data(), code.size(), "=meta", "t");
  EXPECT_EQ(rc, LUA_OK) << (rc == LUA_OK ? "" : lua_tostring(L, -1));
  lua_close(L);
}

TEST(Docs, LuaMetaIsValidLua) {
  expectValidLua(generateDocs(sampleRegistry(), "lua-meta"));
  expectValidLua(generateDocs(Registry::global(), "lua-meta"));
}

TEST(Docs, TypeScriptDeclarations) {
  std::string dts = generateDocs(sampleRegistry(), "dts");
  EXPECT_NE(dts.find("declare class LlmspellError extends Error {"), std::string::npos);
  EXPECT_NE(dts.find("declare namespace demo {"), std::string::npos) << dts;
  // Parameter types from the schemas; the result type from the `returns` text.
  EXPECT_NE(dts.find("  function greet(name: string, opts?: { loud?: boolean; [key: string]: any }): string;"),
            std::string::npos)
      << dts;
  EXPECT_NE(dts.find(" * @param name who to greet\n"), std::string::npos) << dts;
  // Async: a Promise of the result; a host type is an interface of the llmspell namespace.
  EXPECT_NE(dts.find("  function fetch(url: string, mode?: \"fast\" | \"slow\", tags?: string[]): "
                     "Promise<llmspell.Widget>;"),
            std::string::npos)
      << dts;
  EXPECT_NE(dts.find(" * Needs `--allow-net`."), std::string::npos);
  EXPECT_NE(dts.find("  /** A thing with parts */\n  interface Widget {\n"), std::string::npos) << dts;
  EXPECT_NE(dts.find("    parts(limit?: number): string[];"), std::string::npos) << dts;
  EXPECT_NE(dts.find("declare function pause(seconds: number): Promise<null>;"), std::string::npos);
  EXPECT_EQ(dts.find("_async"), std::string::npos);
}

TEST(Docs, TypeScriptNamesAndResultShapes) {
  Registry r;
  r.type("host_thing", "");
  auto fn = [&](const char* ns, const char* name, const char* returns) -> FnBuilder {
    auto b = r.fn(ns, name);
    b.returns(returns);
    return b;
  };
  auto sync = [](CallContext&, Args) -> Value { return Value(); };
  auto async = [](CallContext&, Args) { return Promise::resolved(Value()); };
  fn("util", "count_words", "integer").param("text", R"({"type":"string"})").sync(sync);
  fn("util", "try_it", "{ok = true, result} or {ok = false, error = {code, message}}")
      .param("opts", R"({"type":"object"})")
      .async(async);
  fn("util", "find_thing", "host_thing, or nil when absent").sync(sync);
  fn("util", "read", "string (bytes with opts.binary)").sync(sync);
  fn("util", "runs", "{status = \"ok\"|\"failed\", steps = {{name, ms}}, ...}. More text, {x}").sync(sync);
  fn("util", "vague", "the value, or `default`").sync(sync);
  fn("util", "has", "error: the failure").sync(sync);
  fn("util", "pick", "any")
      .opt("first", R"({})")
      .param("second", R"({"type":["string","bytes","null"]})")
      .variadic()
      .sync(sync);
  fn("util", "default", "any").opt("default", R"({"type":"handle"})").sync(sync);
  fn("", "do_later", "promise").param("fn", R"({"type":"function"})").sync(sync);
  r.method("host_thing", "close_all").param("self", R"({"type":"handle"})").returns("nothing").sync(sync);
  std::string dts = generateDocs(r, "dts");
  // camelCase as the JS engine binds them; a reserved word forces an object type.
  EXPECT_NE(dts.find("declare const util: {\n"), std::string::npos) << dts;
  EXPECT_NE(dts.find("  countWords(text: string): number;"), std::string::npos) << dts;
  EXPECT_NE(dts.find("  tryIt(opts: { timeout?: number; [key: string]: any }): "
                     "Promise<{ ok: true; result: any; error?: undefined; } | { ok: false; error: any; result?: undefined; }>;"),
            std::string::npos)
      << dts;
  EXPECT_NE(dts.find("  findThing(): llmspell.HostThing | null;"), std::string::npos) << dts;
  EXPECT_NE(dts.find("  read(): string | Uint8Array;"), std::string::npos) << dts;
  EXPECT_NE(dts.find("  runs(): { status: \"ok\" | \"failed\"; steps: { name: any; ms: any; }[]; "
                     "[key: string]: any; };"),
            std::string::npos)
      << dts;
  EXPECT_NE(dts.find("  vague(): any;"), std::string::npos) << dts;
  EXPECT_NE(dts.find("  has(): LlmspellError;"), std::string::npos) << dts;
  // An optional parameter before a required one cannot be marked optional.
  EXPECT_NE(dts.find("  pick(first: any, second: string | ArrayBufferView | ArrayBuffer | null, ...args: any[]): any;"),
            std::string::npos)
      << dts;
  EXPECT_NE(dts.find("  default(_default?: llmspell.Handle): any;"), std::string::npos) << dts;
  EXPECT_NE(dts.find("declare function doLater(fn: ((...args: any[]) => any)): Promise<any>;"),
            std::string::npos)
      << dts;
  EXPECT_NE(dts.find("    closeAll(): null;"), std::string::npos) << dts;
  EXPECT_NE(dts.find("  type Handle = llmspell.HostThing;"), std::string::npos) << dts;
}

TEST(Docs, GlobalRegistryRendersEveryFormat) {
  const Registry& r = Registry::global();
  std::string md = generateDocs(r, "md");
  for (const char* ns :
       {"json", "yaml", "log", "time", "crypto", "text", "fs", "env", "schema", "errors"})
    EXPECT_NE(md.find(std::string("## ") + ns + "\n"), std::string::npos) << ns;
  EXPECT_NE(md.find("`errors.retry_async(fn, opts?)`"), std::string::npos);
  EXPECT_NE(md.find("## type `logger`"), std::string::npos);
  Value j = parseJson(generateDocs(r, "json"));
  EXPECT_GE(j.get("namespaces").asArray().size(), 10u);
}

TEST(Docs, UtilityNamespacesAreFullyDocumented) {
  // Every function of the utility namespaces states what it does and what it returns, so the
  // generated reference has no holes.
  const std::set<std::string> mine{"json", "yaml", "log", "time",   "crypto",
                                   "text", "fs",   "env", "schema", "errors"};
  size_t n = 0;
  for (const auto& f : Registry::global().functions()) {
    if (!mine.count(f.ns) && f.self != "logger") continue;
    ++n;
    EXPECT_FALSE(f.doc.empty()) << f.qualifiedName();
    EXPECT_FALSE(f.returns.empty()) << f.qualifiedName();
    if (f.ns == "fs") {
      EXPECT_NE(f.permission, Permission::kNone) << f.qualifiedName();
    }
    if (f.ns == "env") {
      EXPECT_EQ(f.permission, Permission::kEnv) << f.qualifiedName();
    }
  }
  EXPECT_GE(n, 50u);
}

TEST(Docs, UnknownFormatListsValidOnes) {
  try {
    generateDocs(sampleRegistry(), "pdf");
    FAIL() << "expected an error";
  } catch (const Exception& e) {
    EXPECT_EQ(e.error().code, codes::kInvalidArgument);
    EXPECT_NE(e.error().message.find("md, json, lua-meta"), std::string::npos) << e.error().message;
  }
}

}  // namespace
}  // namespace llmspell
