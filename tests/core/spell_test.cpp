// Untrusted data through the real binary: objects with very many keys decode in linear time, and
// numbers past the double range are bad input (invalid_argument), never an internal error.
#include <gtest/gtest.h>

#include <string>

#include "net/server.hpp"
#include "support/cli.hpp"

using namespace llmspell;
using llmspell::test::runShell;
using llmspell::test::shellQuote;

namespace {

// `llmspell exec FLAGS CODE`; stdout and stderr together. The outer `timeout` keeps a regression
// from hanging the suite. It is generous (decoding 100,000 keys takes about a second, several
// under the sanitizers), but quadratic decoding needed minutes: that is what fails before the fix.
std::string exec(const std::string& code, const std::string& flags = "", int* status = nullptr) {
  auto r = runShell("timeout 120 " + std::string(LLMSPELL_BIN) + " exec " + flags + " " +
                    shellQuote(code) + " 2>&1");
  if (status) *status = r.exit;
  return r.out;
}

}  // namespace

// Object::set rebuilt its index on every new key (100,000 keys took over 50 s), and json.encode
// found each key of its ordered_json object linearly.
TEST(LargeInput, JsonDecodeOfManyKeysCompletes) {
  int status = -1;
  std::string out = exec(R"(
local parts = {}
for i = 1, 100000 do parts[i] = '"k' .. i .. '":' .. i end
local v = json.decode("{" .. table.concat(parts, ",") .. "}")
local n = 0
for _ in pairs(v) do n = n + 1 end
print(n, v.k1, v.k77777, v.k100000)
print(json.decode(json.encode(v)).k77777)
)", "", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out, "100000\t1\t77777\t100000\n77777\n");
}

TEST(LargeInput, YamlDecodeOfManyKeysCompletes) {
  int status = -1;
  std::string out = exec(R"(
local parts = {}
for i = 1, 100000 do parts[i] = 'k' .. i .. ': ' .. i end
local v = yaml.decode(table.concat(parts, "\n"))
local n = 0
for _ in pairs(v) do n = n + 1 end
print(n, v.k1, v.k100000)
)", "--memory-limit 1024", &status);  // yaml-cpp needs ~190 bytes of memory per byte of text
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out, "100000\t1\t100000\n");
}

// json.decode("1e400") failed with code `internal` (nlohmann's out_of_range escaped).
TEST(OutOfRangeNumbers, JsonDecodeRaisesInvalidArgument) {
  std::string out = exec(R"(
for _, s in ipairs({"1e400", "[1, -1e400]", '{"a": {"b": 2e308}}'}) do
  local ok, e = pcall(json.decode, s)
  print(ok, e.code, e.message)
end
print(json.decode("1e-400"), json.decode("[1.7976931348623157e308]")[1] > 1e308)
)");
  EXPECT_EQ(out,
            "false\tinvalid_argument\tinvalid JSON at line 1, column 5: number out of range\n"
            "false\tinvalid_argument\tinvalid JSON at line 1, column 10: number out of range\n"
            "false\tinvalid_argument\tinvalid JSON at line 1, column 17: number out of range\n"
            "0.0\ttrue\n");
}

TEST(OutOfRangeNumbers, YamlDecodeRaisesInvalidArgument) {
  std::string out = exec(R"(
local ok, e = pcall(yaml.decode, "a: 1\nb: 1e400\n")
print(ok, e.code, e.message)
print(yaml.decode("x: 1e-400").x, yaml.decode("x: 99999999999999999999").x)
print(yaml.encode({s = "1e400"}))
)");
  EXPECT_EQ(out,
            "false\tinvalid_argument\tinvalid YAML at line 2, column 4: number out of range\n"
            "0.0\t1e+20\n"
            "s: \"1e400\"\n\n");
}

// The same through Tengo, which calls the same registry functions.
TEST(OutOfRangeNumbers, TengoJsonDecodeRaisesInvalidArgument) {
  std::string out = exec(R"(
fmt := import("fmt")
json := import("json")
fmt.println(json.decode("1e400"))
)", "--engine tengo");
  EXPECT_NE(out.find("invalid_argument"), std::string::npos) << out;
  EXPECT_NE(out.find("number out of range"), std::string::npos) << out;
}

// An HTTP body that is labelled JSON but holds an out-of-range number is still read raw.
TEST(OutOfRangeNumbers, HttpBodyIsStillReadableRaw) {
  net::TestHttpServer srv([](const net::ServerRequest&, net::ResponsePtr res) {
    res->send(200, R"({"n":1e400})", {{"content-type", "application/json"}});
  });
  std::string out = exec("local r = http.get('" + srv.url("/x") + "') print(r.status, r.json, r.body)",
                         "--allow-net=127.0.0.1:" + std::to_string(srv.port()));
  EXPECT_EQ(out, "200\tnil\t{\"n\":1e400}\n");
}
