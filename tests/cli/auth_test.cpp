// auth through the CLI: the RFC 7515/7519 examples, and JWTs exchanged with jose (npm, a JWT
// library we did not write) in both directions, for HS256, RS256, ES256 and EdDSA.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../support/cli.hpp"

using namespace llmspell::test;

namespace {

const std::string kSource = LLMSPELL_SOURCE_DIR;

std::string tempDir(const char* name) {
  std::string dir = testing::TempDir() + "/" + name + "_" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace

// RFC 7515 appendix A.1 (the HS256 JWS of RFC 7519 section 3.1): verified with the RFC's key at
// a time before its exp; a changed payload or a later time is refused.
TEST(Auth, Rfc7515HmacExampleVerifies) {
  const char* spell = R"(
local key = crypto.base64_decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow", {url = true})
local jws = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
local v = auth.jwt_verify(jws, key, {now = 1300819370, issuer = "joe"})
print("verified", v.claims.iss, v.claims["http://example.com/is_root"], v.header.typ)
print("expired", select(2, pcall(auth.jwt_verify, jws, key, {now = 1300819381})).message)
print("leeway", auth.jwt_verify(jws, key, {now = 1300819381, leeway = 5}).claims.iss)
local forged = jws:gsub("%.eyJpc3MiOiJqb2Ui", ".eyJpc3MiOiJib2Ii")
print("forged", select(2, pcall(auth.jwt_verify, forged, key, {now = 1300819370})).code)
local unsigned = "eyJhbGciOiJub25lIn0.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
print("none", select(2, pcall(auth.jwt_verify, unsigned, key, {now = 1300819370})).message)
)";
  std::string dir = tempDir("auth_rfc");
  std::ofstream(dir + "/rfc.lua") << spell;
  CliResult r = runCli("run " + shellQuote(dir + "/rfc.lua"), "", true);
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find("verified\tjoe\ttrue\tJWT"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("expired\tthe token has expired"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("leeway\tjoe"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("forged\tauth_error"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("none\tthe token is unsigned (alg \"none\"): refused"), std::string::npos) << r.out;
  std::filesystem::remove_all(dir);
}

TEST(Auth, JwtsExchangedWithJoseBothWays) {
  std::string modules = kSource + "/third_party_data/node_modules";
  if (runShell("command -v node >/dev/null 2>&1").exit != 0) GTEST_SKIP() << "node is not on PATH";
  if (!std::filesystem::exists(modules + "/jose/package.json"))
    GTEST_SKIP() << "npm jose is not installed in third_party_data (scripts/setup.sh installs it)";
  std::string dir = tempDir("auth_jose");
  std::string script = shellQuote(kSource + "/tests/cli/auth/jose_interop.mjs");
  CliResult made = runShell("node " + script + " " + shellQuote(modules) + " " + shellQuote(dir) + " make 2>&1");
  ASSERT_EQ(made.exit, 0) << made.out;

  // llmspell verifies jose's tokens, refuses the expired one and a public key used as an HMAC
  // secret, then signs its own with the same keys.
  const char* spell = R"(
local dir = spell.params.dir
local secret = fs.read(dir .. "/secret.txt")
local tokens = json.decode(fs.read(dir .. "/jose_tokens.json"))
local files = {RS256 = "rsa", ES256 = "ec", EdDSA = "ed"}
local out = {}
for _, alg in ipairs({"HS256", "RS256", "ES256", "EdDSA"}) do
  local pub = alg == "HS256" and secret or fs.read(dir .. "/" .. files[alg] .. ".pub")
  local v = auth.jwt_verify(tokens[alg], pub, {issuer = "jose", audience = "llmspell"})
  print("llmspell verified", v.header.alg, v.claims.sub)
  local priv = alg == "HS256" and secret or fs.read(dir .. "/" .. files[alg] .. ".pem")
  out[alg] = auth.jwt_sign({sub = "bob", n = 7}, priv, {alg = alg, issuer = "llmspell", audience = "jose", expires_in = 300})
end
print("expired:", select(2, pcall(auth.jwt_verify, tokens.expired, secret)).message)
local confused = auth.jwt_sign({sub = "evil"}, fs.read(dir .. "/rsa.pub") .. string.rep(" ", 0), {alg = "HS256"})
)";
  // The last line must fail: a PEM key is never an HMAC secret.
  std::ofstream(dir + "/interop.lua") << spell;
  CliResult r = runCli("run " + shellQuote(dir + "/interop.lua") + " --allow-read " + shellQuote(dir) + " -p dir=" +
                           shellQuote(dir),
                       "", true);
  EXPECT_EQ(r.exit, 1) << r.out;
  for (const char* alg : {"HS256", "RS256", "ES256", "EdDSA"})
    EXPECT_NE(r.out.find(std::string("llmspell verified\t") + alg + "\tann"), std::string::npos) << alg << "\n" << r.out;
  EXPECT_NE(r.out.find("expired:\tthe token has expired"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("error[auth_error]: HS256 signs with a shared secret, not a PEM key"), std::string::npos) << r.out;

  // The same spell without the refused line writes its tokens for jose.
  std::string signer = std::string(spell).substr(0, std::string(spell).find("print(\"expired:\"")) +
                       "fs.write(dir .. \"/llmspell_tokens.json\", json.encode(out))\n";
  std::ofstream(dir + "/sign.lua") << signer;
  CliResult s = runCli("run " + shellQuote(dir + "/sign.lua") + " --allow-read " + shellQuote(dir) + " --allow-write " +
                           shellQuote(dir) + " -p dir=" + shellQuote(dir),
                       "", true);
  ASSERT_EQ(s.exit, 0) << s.out;
  CliResult checked = runShell("node " + script + " " + shellQuote(modules) + " " + shellQuote(dir) + " check 2>&1");
  ASSERT_EQ(checked.exit, 0) << checked.out;
  for (const char* alg : {"HS256", "RS256", "ES256", "EdDSA"})
    EXPECT_NE(checked.out.find(std::string("jose verified ") + alg + " sub=bob n=7"), std::string::npos)
        << alg << "\n" << checked.out;
  std::filesystem::remove_all(dir);
}

TEST(Auth, PasswordsAndRequestSignatures) {
  CliResult r = runCli(
      "exec 'local h = auth.hash_password(\"correct horse\") "
      "print(h:match(\"^%$argon2id%$v=19%$m=19456,t=2,p=1%$\") ~= nil, auth.verify_password(\"correct horse\", h), "
      "auth.verify_password(\"wrong\", h), auth.verify_password(\"x\", \"not a hash\")) "
      "print(select(2, pcall(auth.verify_password, \"x\", \"$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$aGFzaA\")).code) "
      "local s = auth.sign_request({method = \"post\", path = \"/v1/x?a=1\", body = \"{}\", timestamp = 1000}, \"k\") "
      "local got = {method = \"POST\", path = \"/v1/x?a=1\", body = \"{}\", signature = s.signature, timestamp = s.headers[\"x-timestamp\"]} "
      "print(auth.verify_request(got, \"k\", {now = 1010}), auth.verify_request(got, \"k\", {now = 5000})) "
      "got.body = \"{ }\" print(auth.verify_request(got, \"k\", {now = 1010})) "
      "print(auth.constant_time_equal(\"abc\", \"abc\"), auth.constant_time_equal(\"abc\", \"abd\"), auth.constant_time_equal(\"a\", \"ab\"))'",
      "", true);
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find("true\ttrue\tfalse\tfalse\ninvalid_argument\ntrue\tfalse\nfalse\ntrue\tfalse\tfalse\n"), std::string::npos)
      << r.out;
}

// The audit log: two processes appending at once keep one hash chain; an edited line breaks it
// from that line on, and audit_verify says where.
TEST(Auth, AuditLogChainsAcrossProcessesAndShowsEdits) {
  std::string home = tempDir("auth_audit");
  std::string env = "LLMSPELL_HOME=" + shellQuote(home) + " ";
  std::string spell = shellQuote("for i = 1, 20 do auth.audit('step', {i = i, who = spell.params.who}) end");
  CliResult both = runShell("(" + env + cliPath() + " exec " + spell + " -p who=a & " + env + cliPath() + " exec " + spell +
                            " -p who=b & wait) 2>&1");
  ASSERT_EQ(both.exit, 0) << both.out;
  CliResult ok = runShell(env + cliPath() + " exec 'local v = auth.audit_verify() return v.ok and v.entries' 2>&1");
  EXPECT_EQ(ok.out, "40\n");
  runShell("sed -i '7s/\"i\":[0-9]*/\"i\":99/' " + shellQuote(home + "/audit.log"));
  CliResult bad = runShell(env + cliPath() + " exec 'local v = auth.audit_verify() return v.broken_at .. \" \" .. v.reason' 2>&1");
  EXPECT_EQ(bad.out, "7 its hash does not match its content\n");
  std::filesystem::remove_all(home);
}
