// `crypto` namespace: UUIDs, digests, HMAC, secure randomness, base64 and hex codecs.
// Digests and HMAC use OpenSSL's EVP; randomness and codecs use libsodium.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include <mutex>

#include "llmspell/bridge/registry.hpp"
#include "llmspell/core/convert.hpp"

namespace llmspell {

namespace {

void ensureSodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) fail(codes::kInternal, "crypto: libsodium failed to initialize");
  });
}

// Text or bytes as raw bytes.
const std::string& rawOf(const Value& v) {
  return v.isBytes() ? v.asBytes().data : v.asString();
}

// Decoded data: a string when it is UTF-8 text (and binary was not asked for), else bytes.
Value decodedValue(std::string raw, const Value& opts) {
  if (opts.getBool("binary") || !isValidUtf8(raw)) return Value(Bytes{std::move(raw)});
  return Value(std::move(raw));
}

const EVP_MD* digestFor(const std::string& alg, std::string_view fname) {
  if (alg == "sha256") return EVP_sha256();
  if (alg == "sha1") return EVP_sha1();
  if (alg == "sha512") return EVP_sha512();
  if (alg == "sha384") return EVP_sha384();
  if (alg == "sha224") return EVP_sha224();
  if (alg == "md5") return EVP_md5();
  if (alg == "blake2b" || alg == "blake2b512") return EVP_blake2b512();
  if (alg == "blake2s" || alg == "blake2s256") return EVP_blake2s256();
  if (alg == "sha3-256") return EVP_sha3_256();
  if (alg == "sha3-512") return EVP_sha3_512();
  fail(codes::kInvalidArgument, std::string(fname) + ": unknown algorithm '" + alg +
                                    "' (use sha256, sha1, sha512, sha384, sha224, md5, blake2b, "
                                    "blake2s, sha3-256, sha3-512)");
}

std::string hexOf(const unsigned char* p, size_t n) {
  std::string out(n * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), p, n);
  out.resize(n * 2);
  return out;
}

Value encodeDigest(const unsigned char* p, size_t n, const Value& opts) {
  std::string enc = opts.getString("encoding", "hex");
  if (enc == "hex") return Value(hexOf(p, n));
  if (enc == "bytes") return Value(Bytes{std::string(reinterpret_cast<const char*>(p), n)});
  std::string out(sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), p, n, sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);
  return Value(out);
}

constexpr const char* kDigestOpts =
    R"({"type":"object","properties":{"encoding":{"enum":["hex","base64","bytes"]}}})";
constexpr const char* kAlgSchema =
    R"({"type":"string","default":"sha256","enum":["sha256","sha1","sha512","sha384","sha224","md5","blake2b","blake2b512","blake2s","blake2s256","sha3-256","sha3-512"]})";

}  // namespace

void llmspell_register_crypto(Registry& r) {
  r.fn("crypto", "uuid")
      .returns("string: a random (version 4) UUID")
      .doc("A new random UUID, e.g. \"3b241101-e2bb-4255-8caf-4136c566a962\"")
      .sync([](CallContext&, Args) -> Value {
        ensureSodium();
        unsigned char b[16];
        randombytes_buf(b, sizeof b);
        b[6] = (b[6] & 0x0F) | 0x40;  // version 4
        b[8] = (b[8] & 0x3F) | 0x80;  // RFC 4122 variant
        std::string h = hexOf(b, 16);
        return Value(h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" +
                     h.substr(16, 4) + "-" + h.substr(20));
      });
  r.fn("crypto", "hash")
      .param("data", R"({"type":["string","bytes"]})")
      .opt("alg", kAlgSchema,
           "sha256 (default), sha1, sha512, sha384, sha224, md5, blake2b, blake2s, sha3-256, "
           "sha3-512")
      .opt("opts", kDigestOpts, "{encoding = \"hex\" (default) | \"base64\" | \"bytes\"}")
      .returns("string: the digest in hex (or as opts.encoding says: base64 text, or bytes)")
      .doc("A message digest of data")
      .sync([](CallContext&, Args a) -> Value {
        const EVP_MD* md = digestFor(a[1].asString(), "crypto.hash");
        unsigned char out[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        const std::string& d = rawOf(a[0]);
        if (!EVP_Digest(d.data(), d.size(), out, &n, md, nullptr))
          fail(codes::kInternal, "crypto.hash: digest failed");
        return encodeDigest(out, n, a[2]);
      });
  r.fn("crypto", "hmac")
      .param("key", R"({"type":["string","bytes"]})")
      .param("data", R"({"type":["string","bytes"]})")
      .opt("alg", kAlgSchema, "digest algorithm; default sha256")
      .opt("opts", kDigestOpts, "{encoding = \"hex\" (default) | \"base64\" | \"bytes\"}")
      .returns("string: the MAC in hex (or as opts.encoding says: base64 text, or bytes)")
      .doc("An HMAC of data under key")
      .sync([](CallContext&, Args a) -> Value {
        const EVP_MD* md = digestFor(a[2].asString(), "crypto.hmac");
        const std::string& k = rawOf(a[0]);
        const std::string& d = rawOf(a[1]);
        unsigned char out[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        if (!HMAC(md, k.data(), static_cast<int>(k.size()),
                  reinterpret_cast<const unsigned char*>(d.data()), d.size(), out, &n))
          fail(codes::kInternal, "crypto.hmac: HMAC failed");
        return encodeDigest(out, n, a[3]);
      });
  r.fn("crypto", "random_bytes")
      .param("n", R"({"type":"integer","minimum":0,"maximum":16777216})",
             "how many bytes (at most 16 MiB)")
      .returns("bytes")
      .doc("Cryptographically secure random bytes")
      .sync([](CallContext&, Args a) -> Value {
        ensureSodium();
        std::string b(static_cast<size_t>(a[0].asInt()), '\0');
        randombytes_buf(b.data(), b.size());
        return Value(Bytes{std::move(b)});
      });
  r.fn("crypto", "random_string")
      .param("n", R"({"type":"integer","minimum":0,"maximum":1048576})", "length in characters")
      .opt("alphabet", R"({"type":"string","minLength":1,"maxLength":256})",
           "the characters to draw from (ASCII); default A-Z a-z 0-9")
      .returns("string")
      .doc("A random string drawn uniformly from an alphabet (secure randomness)")
      .sync([](CallContext&, Args a) -> Value {
        ensureSodium();
        std::string alpha = a[1].isString()
                                ? a[1].asString()
                                : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        for (unsigned char c : alpha)
          if (c >= 0x80)
            fail(codes::kInvalidArgument,
                 "crypto.random_string: the alphabet must be ASCII characters");
        std::string out(static_cast<size_t>(a[0].asInt()), '\0');
        for (auto& c : out) c = alpha[randombytes_uniform(static_cast<uint32_t>(alpha.size()))];
        return Value(std::move(out));
      });
  r.fn("crypto", "base64_encode")
      .param("data", R"({"type":["string","bytes"]})")
      .opt(
          "opts",
          R"({"type":"object","properties":{"url":{"type":"boolean"},"padding":{"type":"boolean"}}})",
          "{url = true for the URL-safe alphabet, padding = false to drop '='}")
      .returns("string")
      .doc("Base64 text of data")
      .sync([](CallContext&, Args a) -> Value {
        const std::string& d = rawOf(a[0]);
        bool url = a[1].getBool("url");
        bool pad = a[1].getBool("padding", true);
        int variant =
            url ? (pad ? sodium_base64_VARIANT_URLSAFE : sodium_base64_VARIANT_URLSAFE_NO_PADDING)
                : (pad ? sodium_base64_VARIANT_ORIGINAL
                       : sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
        std::string out(sodium_base64_encoded_len(d.size(), variant), '\0');
        sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(d.data()),
                          d.size(), variant);
        out.resize(out.size() - 1);
        return Value(std::move(out));
      });
  r.fn("crypto", "base64_decode")
      .param("text", R"({"type":"string"})")
      .opt(
          "opts",
          R"({"type":"object","properties":{"url":{"type":"boolean"},"binary":{"type":"boolean"}}})",
          "{url = true for the URL-safe alphabet, binary = true to always get bytes}")
      .returns("string, or bytes when the result is not UTF-8 text or opts.binary")
      .doc(
          "Decodes base64 (padding optional, whitespace ignored); bad input raises "
          "invalid_argument")
      .sync([](CallContext&, Args a) -> Value {
        std::string s;
        for (char c : a[0].asString())
          if (c != ' ' && c != '\n' && c != '\r' && c != '\t') s += c;
        bool url = a[1].getBool("url");
        if (!url && s.find_first_of("-_") != std::string::npos) url = true;  // be forgiving
        while (!s.empty() && s.back() == '=') s.pop_back();
        int variant = url ? sodium_base64_VARIANT_URLSAFE_NO_PADDING
                          : sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
        std::string out(s.size() * 3 / 4 + 3, '\0');
        size_t n = 0;
        const char* end = nullptr;
        if (s.size() % 4 == 1 ||
            sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), s.data(),
                              s.size(), nullptr, &n, &end, variant) != 0 ||
            end != s.data() + s.size())
          fail(codes::kInvalidArgument,
               "crypto.base64_decode: the text is not valid base64" +
                   std::string(end && end < s.data() + s.size()
                                   ? " (bad character at position " +
                                         std::to_string(end - s.data() + 1) + ")"
                                   : ""));
        out.resize(n);
        return decodedValue(std::move(out), a[1]);
      });
  r.fn("crypto", "hex_encode")
      .param("data", R"({"type":["string","bytes"]})")
      .returns("string: lowercase hex")
      .doc("Hex text of data")
      .sync([](CallContext&, Args a) -> Value {
        const std::string& d = rawOf(a[0]);
        return Value(hexOf(reinterpret_cast<const unsigned char*>(d.data()), d.size()));
      });
  r.fn("crypto", "hex_decode")
      .param("text", R"({"type":"string"})")
      .opt("opts", R"({"type":"object","properties":{"binary":{"type":"boolean"}}})",
           "{binary = true to always get bytes}")
      .returns("string, or bytes when the result is not UTF-8 text or opts.binary")
      .doc("Decodes hex (either case); bad input raises invalid_argument")
      .sync([](CallContext&, Args a) -> Value {
        const std::string& s = a[0].asString();
        if (s.size() % 2)
          fail(codes::kInvalidArgument,
               "crypto.hex_decode: hex text must have an even number of digits, got " +
                   std::to_string(s.size()));
        std::string out(s.size() / 2, '\0');
        size_t n = 0;
        const char* end = nullptr;
        if (sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), s.data(),
                           s.size(), nullptr, &n, &end) != 0 ||
            end != s.data() + s.size())
          fail(codes::kInvalidArgument, "crypto.hex_decode: not a hex digit at position " +
                                            std::to_string((end ? end - s.data() : 0) + 1));
        out.resize(n);
        return decodedValue(std::move(out), a[1]);
      });
}

}  // namespace llmspell
