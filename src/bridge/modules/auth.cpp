// `auth` namespace: JSON Web Tokens (RFC 7519, signed as JWS compact serialization, RFC 7515)
// on OpenSSL's EVP (HS256/384/512, RS256, ES256, EdDSA), Argon2id password hashes and
// constant-time comparison on libsodium, and HMAC request signatures.
// Not libjwt: Debian 12's 1.10 has no EdDSA and decides the algorithm from the token's header,
// the confusion this module refuses (the key's type, not the token, decides the algorithm family).
#include <openssl/bio.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "llmspell/bridge/registry.hpp"
#include "llmspell/core/convert.hpp"
#include "llmspell/runtime/loop.hpp"

namespace llmspell {
namespace {

[[noreturn]] void authFail(const std::string& msg) { fail(codes::kAuthError, msg); }

std::string b64url(std::string_view bin) {
  std::string out(sodium_base64_encoded_len(bin.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bin.data()), bin.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::optional<std::string> unb64url(std::string_view text) {
  std::string out(text.size(), '\0');
  size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &len, nullptr, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
    return std::nullopt;
  out.resize(len);
  return out;
}

std::string keyBytes(const Value& k) { return k.isBytes() ? k.asBytes().data : k.asString(); }

bool looksPem(const std::string& k) { return k.find("-----BEGIN ") != std::string::npos; }

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// A PEM private or public key. Throws invalid_argument naming what was expected.
Pkey readPem(const std::string& pem, bool priv) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (!bio) fail(codes::kInternal, "out of memory");
  EVP_PKEY* k = priv ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr)
                     : PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!k)
    fail(codes::kInvalidArgument, priv ? "the key is not a PEM private key (-----BEGIN PRIVATE KEY-----, unencrypted)"
                                       : "the key is not a PEM public key (-----BEGIN PUBLIC KEY-----)");
  return Pkey(k);
}

struct Alg {
  std::string name;
  enum Kind { kHmac, kRsa, kEc, kEd } kind;
  const EVP_MD* md;  // null for EdDSA
};

std::optional<Alg> algorithm(const std::string& name) {
  if (name == "HS256") return Alg{name, Alg::kHmac, EVP_sha256()};
  if (name == "HS384") return Alg{name, Alg::kHmac, EVP_sha384()};
  if (name == "HS512") return Alg{name, Alg::kHmac, EVP_sha512()};
  if (name == "RS256") return Alg{name, Alg::kRsa, EVP_sha256()};
  if (name == "ES256") return Alg{name, Alg::kEc, EVP_sha256()};
  if (name == "EdDSA") return Alg{name, Alg::kEd, nullptr};
  return std::nullopt;
}

// The key must be of the algorithm's family: an HMAC secret is never a PEM key (a public key
// used as an HMAC secret is the classic confusion), an RS256 key is RSA of 2048 bits or more, an
// ES256 key is on P-256, an EdDSA key is Ed25519.
void checkKeyFits(const Alg& a, EVP_PKEY* k) {
  int id = EVP_PKEY_get_base_id(k);
  bool ok = (a.kind == Alg::kRsa && id == EVP_PKEY_RSA) || (a.kind == Alg::kEc && id == EVP_PKEY_EC) ||
            (a.kind == Alg::kEd && id == EVP_PKEY_ED25519);
  if (!ok) authFail("the key does not fit " + a.name + " (" + a.name + " needs " +
                    (a.kind == Alg::kRsa ? "an RSA key" : a.kind == Alg::kEc ? "a P-256 EC key" : "an Ed25519 key") + ")");
  if (a.kind == Alg::kRsa && EVP_PKEY_get_bits(k) < 2048) authFail("RS256 needs an RSA key of at least 2048 bits");
  if (a.kind == Alg::kEc) {
    char group[64] = {0};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(k, group, sizeof group, &len) != 1 || std::string_view(group) != "prime256v1")
      authFail("ES256 needs a key on the P-256 curve");
  }
}

size_t hmacMinKey(const Alg& a) { return static_cast<size_t>(EVP_MD_get_size(a.md)); }

std::string hmac(const Alg& a, const std::string& key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!HMAC(a.md, key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
            data.size(), out, &n))
    fail(codes::kInternal, "HMAC failed");
  return std::string(reinterpret_cast<char*>(out), n);
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

// ECDSA signatures are DER in OpenSSL and r || s (32 bytes each for P-256) in JWS.
std::string derToRaw(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  if (!sig) fail(codes::kInternal, "ECDSA signature encoding failed");
  const BIGNUM *r = nullptr, *s = nullptr;
  ECDSA_SIG_get0(sig, &r, &s);
  std::string raw(64, '\0');
  BN_bn2binpad(r, reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(s, reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  ECDSA_SIG_free(sig);
  return raw;
}

std::optional<std::string> rawToDer(const std::string& raw) {
  if (raw.size() != 64) return std::nullopt;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  int n = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (n <= 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

std::string sign(const Alg& a, const Value& key, std::string_view input) {
  std::string k = keyBytes(key);
  if (a.kind == Alg::kHmac) {
    if (looksPem(k)) authFail(a.name + " signs with a shared secret, not a PEM key");
    if (k.size() < hmacMinKey(a))
      fail(codes::kInvalidArgument, a.name + " needs a secret of at least " + std::to_string(hmacMinKey(a)) +
                                        " bytes (RFC 7518 section 3.2)");
    return hmac(a, k, input);
  }
  Pkey pk = readPem(k, true);
  checkKeyFits(a, pk.get());
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, a.md, nullptr, pk.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
    fail(codes::kInternal, "signing with " + a.name + " failed");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
    fail(codes::kInternal, "signing with " + a.name + " failed");
  sig.resize(len);
  return a.kind == Alg::kEc ? derToRaw(sig) : sig;
}

bool verify(const Alg& a, const Value& key, std::string_view input, const std::string& sig) {
  std::string k = keyBytes(key);
  if (a.kind == Alg::kHmac) {
    if (looksPem(k)) authFail("the token says " + a.name + " but the key is a PEM key: refused (algorithm confusion)");
    std::string want = hmac(a, k, input);
    return want.size() == sig.size() && sodium_memcmp(want.data(), sig.data(), want.size()) == 0;
  }
  if (!looksPem(k)) authFail("the token says " + a.name + " but the key is not a PEM public key");
  Pkey pk = readPem(k, false);
  checkKeyFits(a, pk.get());
  std::string s = sig;
  if (a.kind == Alg::kEc) {
    auto der = rawToDer(sig);
    if (!der) return false;
    s = *der;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, a.md, nullptr, pk.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(s.data()), s.size(),
                          reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
}

double nowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// {header, claims, signing input, signature} of a compact JWS; invalid_argument when malformed.
struct Parsed {
  Value header, claims;
  std::string input, sig;
};
Parsed parseToken(const std::string& token) {
  if (token.size() > (1u << 20)) fail(codes::kInvalidArgument, "the token is longer than 1 MiB");
  size_t d1 = token.find('.'), d2 = d1 == std::string::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string::npos || token.find('.', d2 + 1) != std::string::npos)
    fail(codes::kInvalidArgument, "not a JWT: expected three base64url parts separated by '.'");
  auto h = unb64url(std::string_view(token).substr(0, d1));
  auto c = unb64url(std::string_view(token).substr(d1 + 1, d2 - d1 - 1));
  auto s = unb64url(std::string_view(token).substr(d2 + 1));
  if (!h || !c || !s) fail(codes::kInvalidArgument, "not a JWT: a part is not base64url");
  Parsed p;
  try {
    p.header = parseJson(*h, 10000);
    p.claims = parseJson(*c, 100000);
  } catch (const Exception&) {
    fail(codes::kInvalidArgument, "not a JWT: the header or the claims are not JSON");
  }
  if (!p.header.isObject() || !p.claims.isObject())
    fail(codes::kInvalidArgument, "not a JWT: the header and the claims must be JSON objects");
  p.input = token.substr(0, d2);
  p.sig = std::move(*s);
  return p;
}

// The algorithms a verification accepts: the caller's list, else the family the key implies.
std::vector<std::string> allowedAlgs(const Value& key, const Value& opts) {
  std::vector<std::string> out;
  if (opts.get("algorithms").isArray()) {
    for (const auto& a : opts.get("algorithms").asArray()) out.push_back(a.asString());
    return out;
  }
  if (!looksPem(keyBytes(key))) return {"HS256", "HS384", "HS512"};
  Pkey pk = readPem(keyBytes(key), false);
  switch (EVP_PKEY_get_base_id(pk.get())) {
    case EVP_PKEY_RSA: return {"RS256"};
    case EVP_PKEY_EC: return {"ES256"};
    case EVP_PKEY_ED25519: return {"EdDSA"};
    default: fail(codes::kInvalidArgument, "the key is of a type no supported algorithm uses");
  }
}

bool audienceMatches(const Value& aud, const Value& want) {
  auto one = [&](const Value& a) {
    if (!a.isString()) return false;
    if (want.isString()) return a.asString() == want.asString();
    if (want.isArray())
      for (const auto& w : want.asArray())
        if (w.isString() && w.asString() == a.asString()) return true;
    return false;
  };
  if (aud.isArray()) {
    for (const auto& a : aud.asArray())
      if (one(a)) return true;
    return false;
  }
  return one(aud);
}

// The canonical text a request signature covers: method, path, timestamp and the body's SHA-256.
std::string requestText(const Value& req, int64_t ts) {
  std::string body = req.get("body").isBytes() ? req.get("body").asBytes().data : req.getString("body");
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, reinterpret_cast<const unsigned char*>(body.data()), body.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, h, sizeof h);
  std::string method = req.getString("method", "GET");
  for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return method + "\n" + req.getString("path", "/") + "\n" + std::to_string(ts) + "\n" + hex;
}

std::string hexOf(const std::string& bin) {
  std::string out(bin.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bin.data()), bin.size());
  out.pop_back();
  return out;
}

// Argon2id parameters: OWASP's minimum (19 MiB, 2 passes, 1 lane), so that a hash stays
// affordable under a spell's memory limit while costing an attacker per guess.
constexpr unsigned long long kPwOps = 2;
constexpr size_t kPwMem = size_t{19} << 20;
constexpr size_t kPwMaxVerifyMem = size_t{256} << 20;

// The memory an encoded Argon2 hash asks for ("$argon2id$v=19$m=19456,t=2,p=1$..."): verifying
// allocates it, so a hash from outside must not ask for more than the spell may have.
size_t hashMemory(const std::string& h) {
  auto m = h.find("$m=");
  if (m == std::string::npos) return 0;
  return static_cast<size_t>(std::strtoull(h.c_str() + m + 3, nullptr, 10)) << 10;
}

// The audit log: <data dir>/audit.log, JSON Lines, each entry chained to the one before by
// hash = sha256(prev hash + the entry's JSON without its hash), so an edited, removed or
// reordered line breaks the chain from there on. Appends hold an exclusive flock, so runs in
// several processes keep one chain. llmspell only ever appends to it.
std::string auditPath(RunContext& run) {
  std::string dir = run.dataDir.empty() ? "." : run.dataDir;
  return dir + "/audit.log";
}

std::string sha256Hex(std::string_view s) {
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, reinterpret_cast<const unsigned char*>(s.data()), s.size());
  return hexOf(std::string(reinterpret_cast<char*>(h), sizeof h));
}

// The hash the log's last entry holds ("" for an empty log).
std::string lastHash(const std::string& line) {
  if (line.empty()) return "";
  try {
    return parseJson(line).getString("hash");
  } catch (const Exception&) {
    return "";
  }
}

// The log's last line, read from its end: an append costs the same however long the log is.
std::string lastLine(int fd) {
  off_t size = lseek(fd, 0, SEEK_END);
  std::string tail;
  for (off_t want = 4096; size > 0; want *= 4) {
    off_t from = size > want ? size - want : 0;
    tail.assign(static_cast<size_t>(size - from), '\0');
    ssize_t n = ::pread(fd, tail.data(), tail.size(), from);
    if (n < 0) return "";
    tail.resize(static_cast<size_t>(n));
    size_t end = tail.find_last_not_of('\n');
    if (end == std::string::npos) return "";
    size_t start = tail.rfind('\n', end);
    if (start != std::string::npos || from == 0) return tail.substr(start == std::string::npos ? 0 : start + 1);
  }
  return "";
}

}  // namespace

void llmspell_register_auth(Registry& r) {
  r.fn("auth", "jwt_sign")
      .param("claims", R"({"type":"object"})", "the payload: sub, any claims of yours")
      .param("key", R"({"type":["string","bytes"]})",
             "an HMAC secret (HS*: at least as many bytes as the hash), or a PEM private key (RS256, ES256, EdDSA)")
      .opt("opts", R"J({"type":"object","properties":{
              "alg":{"enum":["HS256","HS384","HS512","RS256","ES256","EdDSA"],"description":"default HS256"},
              "expires_in":{"type":"number","minimum":0,"description":"seconds until exp; sets iat too"},
              "not_before_in":{"type":"number","description":"seconds until nbf"},
              "issuer":{"type":"string"},"subject":{"type":"string"},
              "audience":{"type":["string","array"]},
              "kid":{"type":"string","description":"key id in the header"},
              "header":{"type":"object","description":"more header fields"}}})J",
           "{alg, expires_in, not_before_in, issuer, subject, audience, kid, header}")
      .returns("string: the token (header.payload.signature)")
      .doc("Signs a JSON Web Token (RFC 7519) as a compact JWS")
      .sync([](CallContext&, Args a) -> Value {
        const Value& o = a[2];
        auto alg = algorithm(o.getString("alg", "HS256"));
        Value header = Value::object({{"alg", alg->name}, {"typ", "JWT"}});
        if (o.get("kid").isString()) header.asObject().set("kid", o.get("kid"));
        if (o.get("header").isObject())
          for (const auto& [k, v] : o.get("header").asObject())
            if (k != "alg") header.asObject().set(k, v);
        Value claims = Value::object();
        for (const auto& [k, v] : a[0].asObject()) claims.asObject().set(k, v);
        double now = std::floor(nowSeconds());
        if (o.get("expires_in").isNumber()) {
          claims.asObject().set("iat", static_cast<int64_t>(now));
          claims.asObject().set("exp", static_cast<int64_t>(now + o.getNumber("expires_in")));
        }
        if (o.get("not_before_in").isNumber())
          claims.asObject().set("nbf", static_cast<int64_t>(now + o.getNumber("not_before_in")));
        if (o.get("issuer").isString()) claims.asObject().set("iss", o.get("issuer"));
        if (o.get("subject").isString()) claims.asObject().set("sub", o.get("subject"));
        if (!o.get("audience").isNull()) claims.asObject().set("aud", o.get("audience"));
        std::string input = b64url(toJsonText(header)) + "." + b64url(toJsonText(claims));
        return Value(input + "." + b64url(sign(*alg, a[1], input)));
      });

  r.fn("auth", "jwt_verify")
      .param("token", R"({"type":"string"})")
      .param("key", R"({"type":["string","bytes"]})", "the HMAC secret, or a PEM public key")
      .opt("opts", R"J({"type":"object","properties":{
              "algorithms":{"type":"array","items":{"enum":["HS256","HS384","HS512","RS256","ES256","EdDSA"]},
                            "description":"accepted algorithms (default: those of the key's kind)"},
              "audience":{"type":["string","array"],"description":"aud must contain one of these"},
              "issuer":{"type":["string","array"],"description":"iss must be one of these"},
              "subject":{"type":"string"},
              "leeway":{"type":"number","minimum":0,"description":"seconds of clock skew allowed on exp, nbf and iat (default 0)"},
              "max_age":{"type":"number","minimum":0,"description":"seconds since iat after which the token is too old"},
              "now":{"type":"number","description":"the time to check against (seconds since the epoch; default now)"},
              "require":{"type":"array","items":{"type":"string"},"description":"claims that must be present"}}})J",
           "{algorithms, audience, issuer, subject, leeway, max_age, now, require}")
      .returns("{header, claims}")
      .doc("Verifies a JWT's signature and its exp, nbf, iat, aud, iss and sub claims; raises auth_error saying why "
           "it is refused. alg \"none\" is always refused, and the key's kind decides the algorithms accepted")
      .sync([](CallContext&, Args a) -> Value {
        Parsed p = parseToken(a[0].asString());
        const Value& o = a[2];
        std::string algName = p.header.getString("alg");
        if (algName.empty() || algName == "none" || algName == "None" || algName == "NONE")
          authFail("the token is unsigned (alg \"" + algName + "\"): refused");
        auto allowed = allowedAlgs(a[1], o);
        if (std::find(allowed.begin(), allowed.end(), algName) == allowed.end()) {
          std::string list;
          for (const auto& x : allowed) list += (list.empty() ? "" : ", ") + x;
          authFail("the token's algorithm " + algName + " is not accepted here (accepted: " + list + ")");
        }
        auto alg = algorithm(algName);
        if (!alg) authFail("unsupported algorithm " + algName);
        if (p.header.get("crit").isArray()) authFail("the token has critical header extensions this verifier does not know");
        if (!verify(*alg, a[1], p.input, p.sig)) authFail("the token's signature is not valid");
        const Value& c = p.claims;
        double now = o.get("now").isNumber() ? o.getNumber("now") : nowSeconds();
        double leeway = o.getNumber("leeway", 0);
        auto numeric = [&](const char* name) -> std::optional<double> {
          const Value& v = c.get(name);
          if (v.isNull()) return std::nullopt;
          if (!v.isNumber()) authFail(std::string("the ") + name + " claim is not a number");
          return v.asNumber();
        };
        if (auto exp = numeric("exp"); exp && now - leeway >= *exp) authFail("the token has expired");
        if (auto nbf = numeric("nbf"); nbf && now + leeway < *nbf) authFail("the token is not valid yet (nbf)");
        auto iat = numeric("iat");
        if (iat && *iat > now + leeway) authFail("the token was issued in the future (iat)");
        if (o.get("max_age").isNumber()) {
          if (!iat) authFail("the token has no iat claim, so its age cannot be checked");
          if (now - *iat - leeway > o.getNumber("max_age")) authFail("the token is older than max_age");
        }
        if (!o.get("audience").isNull() && !audienceMatches(c.get("aud"), o.get("audience")))
          authFail("the token is not meant for this audience (aud)");
        if (!o.get("issuer").isNull() && !audienceMatches(c.get("iss"), o.get("issuer")))
          authFail("the token's issuer is not accepted (iss)");
        if (o.get("subject").isString() && c.getString("sub") != o.get("subject").asString())
          authFail("the token's subject does not match (sub)");
        if (o.get("require").isArray())
          for (const auto& name : o.get("require").asArray())
            if (c.get(name.asString()).isNull()) authFail("the token has no " + name.asString() + " claim");
        return Value::object({{"header", p.header}, {"claims", p.claims}});
      });

  r.fn("auth", "jwt_decode")
      .param("token", R"({"type":"string"})")
      .returns("{header, claims}")
      .doc("Reads a JWT's header and claims WITHOUT verifying anything: for inspection only, never for trust")
      .sync([](CallContext&, Args a) -> Value {
        Parsed p = parseToken(a[0].asString());
        return Value::object({{"header", p.header}, {"claims", p.claims}});
      });

  r.fn("auth", "hash_password")
      .param("password", R"({"type":"string"})")
      .returns("string: an encoded Argon2id hash ($argon2id$v=19$m=19456,t=2,p=1$...) with its own salt")
      .doc("Hashes a password with Argon2id (libsodium; 19 MiB, 2 passes: OWASP's minimum) on a worker thread")
      .async([](CallContext& cx, Args a) -> PromisePtr {
        cx.run.memory().require(kPwMem, "auth.hash_password's Argon2id memory");
        return cx.loop.runBlocking([pw = a[0].asString()]() -> Value {
          char out[crypto_pwhash_STRBYTES];
          if (crypto_pwhash_str_alg(out, pw.data(), pw.size(), kPwOps, kPwMem, crypto_pwhash_ALG_ARGON2ID13) != 0)
            fail(codes::kInternal, "Argon2id hashing ran out of memory");
          return Value(std::string(out));
        });
      });

  r.fn("auth", "verify_password")
      .param("password", R"({"type":"string"})")
      .param("hash", R"({"type":"string"})", "a hash from auth.hash_password (any Argon2id/Argon2i encoded hash)")
      .returns("boolean")
      .doc("Checks a password against an Argon2 hash, in constant time; false for a wrong password or a malformed hash")
      .async([](CallContext& cx, Args a) -> PromisePtr {
        std::string h = a[1].asString();
        if (h.size() >= crypto_pwhash_STRBYTES || !h.starts_with("$argon2")) return Promise::resolved(Value(false));
        // The hash names the memory verifying it takes: a hostile hash could ask for gigabytes.
        size_t mem = hashMemory(h);
        if (mem > kPwMaxVerifyMem)
          fail(codes::kInvalidArgument, "the hash asks for " + std::to_string(mem >> 20) +
                                            " MiB to verify; more than 256 MiB is refused");
        cx.run.memory().require(mem, "the memory the Argon2 hash asks for");
        return cx.loop.runBlocking([pw = a[0].asString(), h]() -> Value {
          return Value(crypto_pwhash_str_verify(h.c_str(), pw.data(), pw.size()) == 0);
        });
      });

  r.fn("auth", "constant_time_equal")
      .param("a", R"({"type":["string","bytes"]})")
      .param("b", R"({"type":["string","bytes"]})")
      .returns("boolean")
      .doc("Compares two secrets (tokens, signatures) in time that does not depend on where they differ")
      .sync([](CallContext&, Args a) -> Value {
        std::string x = keyBytes(a[0]), y = keyBytes(a[1]);
        // Lengths are not secret here (signatures and tokens have public lengths); the bytes are.
        return Value(x.size() == y.size() && sodium_memcmp(x.data(), y.data(), x.size()) == 0);
      });

  r.fn("auth", "sign_request")
      .param("request", R"J({"type":"object","properties":{
              "method":{"type":"string"},"path":{"type":"string","description":"path and query, as sent"},
              "body":{"type":["string","bytes"]},"timestamp":{"type":"integer","description":"seconds since the epoch (default now)"}}})J",
             "{method, path, body, timestamp}")
      .param("secret", R"({"type":["string","bytes"]})")
      .returns("{signature, timestamp, headers = {[\"x-signature\"], [\"x-timestamp\"]}}")
      .doc("Signs a request with HMAC-SHA256 over \"METHOD\\npath\\ntimestamp\\nhex(sha256(body))\"; send the headers "
           "with it")
      .sync([](CallContext&, Args a) -> Value {
        int64_t ts = a[0].get("timestamp").isInt() ? a[0].getInt("timestamp") : static_cast<int64_t>(nowSeconds());
        Alg sha{"HS256", Alg::kHmac, EVP_sha256()};
        std::string sig = hexOf(hmac(sha, keyBytes(a[1]), requestText(a[0], ts)));
        return Value::object({{"signature", sig},
                              {"timestamp", ts},
                              {"headers", Value::object({{"x-signature", sig}, {"x-timestamp", std::to_string(ts)}})}});
      });

  r.fn("auth", "verify_request")
      .param("request", R"J({"type":"object","properties":{
              "method":{"type":"string"},"path":{"type":"string"},"body":{"type":["string","bytes"]},
              "signature":{"type":"string"},"timestamp":{"type":["integer","string"]}}})J",
             "{method, path, body, signature, timestamp}: what arrived")
      .param("secret", R"({"type":["string","bytes"]})")
      .opt("opts", R"J({"type":"object","properties":{
              "max_age":{"type":"number","minimum":0,"description":"seconds a signature stays valid (default 300)"},
              "now":{"type":"number"}}})J",
           "{max_age, now}")
      .returns("boolean")
      .doc("Checks a signature made by auth.sign_request, in constant time, refusing old timestamps (replays)")
      .sync([](CallContext&, Args a) -> Value {
        const Value& t = a[0].get("timestamp");
        int64_t ts = t.isInt() ? t.asInt() : std::strtoll(a[0].getString("timestamp").c_str(), nullptr, 10);
        double now = a[2].get("now").isNumber() ? a[2].getNumber("now") : nowSeconds();
        if (std::fabs(now - static_cast<double>(ts)) > a[2].getNumber("max_age", 300)) return Value(false);
        Alg sha{"HS256", Alg::kHmac, EVP_sha256()};
        std::string want = hexOf(hmac(sha, keyBytes(a[1]), requestText(a[0], ts)));
        std::string got = a[0].getString("signature");
        return Value(want.size() == got.size() && sodium_memcmp(want.data(), got.data(), want.size()) == 0);
      });

  r.fn("auth", "audit")
      .param("action", R"({"type":"string","minLength":1})", "what happened: \"login\", \"refund.approved\"")
      .opt("details", R"({"type":"object"})", "facts about it (who, what, amounts): no secrets")
      .returns("{ts, run_id, spell, action, details, prev, hash}: the entry written")
      .doc("Appends an entry to the audit log (<data dir>/audit.log, JSON Lines), chained by SHA-256 to the entry "
           "before it so that editing or removing a line shows (auth.audit_verify)")
      .sync([](CallContext& cx, Args a) -> Value {
        std::string path = auditPath(cx.run);
        std::error_code ec;
        std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
        int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) fail(codes::kInternal, "cannot open the audit log " + path + ": " + std::strerror(errno));
        struct Closer {
          int fd;
          ~Closer() { ::close(fd); }
        } closer{fd};
        if (::flock(fd, LOCK_EX) != 0) fail(codes::kInternal, "cannot lock the audit log " + path);
        std::string prev = lastHash(lastLine(fd));
        Value entry = Value::object({{"ts", std::floor(nowSeconds() * 1000) / 1000},
                                     {"run_id", cx.run.runId},
                                     {"spell", cx.run.spellName},
                                     {"action", a[0]},
                                     {"details", a[1].isNull() ? Value::object() : a[1]},
                                     {"prev", prev}});
        std::string body = toJsonText(entry);
        entry.asObject().set("hash", sha256Hex(prev + body));
        std::string line = toJsonText(entry) + "\n";
        if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
          fail(codes::kInternal, "cannot append to the audit log " + path + ": " + std::strerror(errno));
        ::fsync(fd);
        return entry;
      });

  r.fn("auth", "audit_verify")
      .returns("{ok, entries, broken_at (the first line that does not chain, when not ok), reason}")
      .doc("Checks the audit log's hash chain from its first line to its last")
      .sync([](CallContext& cx, Args) -> Value {
        std::ifstream in(auditPath(cx.run));
        std::string line, prev;
        int64_t n = 0;
        while (std::getline(in, line)) {
          ++n;
          auto broken = [&](const std::string& why) {
            return Value::object({{"ok", false}, {"entries", n}, {"broken_at", n}, {"reason", why}});
          };
          Value e;
          try {
            e = parseJson(line);
          } catch (const Exception&) {
            return broken("the line is not JSON");
          }
          if (!e.isObject() || !e.get("hash").isString()) return broken("the line has no hash");
          if (e.getString("prev") != prev) return broken("its prev is not the hash of the line before");
          Value body = Value::object();
          for (const auto& [k, v] : e.asObject())
            if (k != "hash") body.asObject().set(k, v);
          if (sha256Hex(prev + toJsonText(body)) != e.getString("hash")) return broken("its hash does not match its content");
          prev = e.getString("hash");
        }
        return Value::object({{"ok", true}, {"entries", n}});
      });
}

}  // namespace llmspell
