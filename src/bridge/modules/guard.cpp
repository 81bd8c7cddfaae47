// `guard` namespace: PII detection and redaction, length / term / pattern / injection checks, a
// token-bucket rate limiter, and guard.protect, which puts the checks around an agent's model
// calls as llm.call hooks. Detection is RE2 (linear time on any input) plus validation where a
// shape alone says little: Luhn for card numbers, ISO 13616 mod-97 for IBANs, inet_pton for IPs.
#include <arpa/inet.h>
#include <re2/re2.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>

#include "llmspell/agent/agent.hpp"
#include "llmspell/bridge/registry.hpp"
#include "llmspell/core/convert.hpp"
#include "llmspell/hooks/hooks.hpp"
#include "llmspell/runtime/loop.hpp"

namespace llmspell {
namespace {

struct Detector {
  std::string type;
  std::unique_ptr<RE2> re;
  bool (*valid)(std::string_view match);
};

bool luhn(std::string_view s) {
  int sum = 0, n = 0;
  bool dbl = false;
  for (auto it = s.rbegin(); it != s.rend(); ++it) {
    if (*it < '0' || *it > '9') continue;
    int d = *it - '0';
    if (dbl && (d *= 2) > 9) d -= 9;
    sum += d;
    dbl = !dbl;
    ++n;
  }
  return n >= 13 && n <= 19 && sum % 10 == 0;
}

bool ibanValid(std::string_view s) {
  std::string c;
  for (char ch : s)
    if (ch != ' ') c += ch;
  if (c.size() < 15 || c.size() > 34) return false;
  std::string r = c.substr(4) + c.substr(0, 4);
  int mod = 0;
  for (char ch : r) {
    int v = (ch >= '0' && ch <= '9') ? ch - '0' : (ch >= 'A' && ch <= 'Z') ? ch - 'A' + 10 : -1;
    if (v < 0) return false;
    mod = v >= 10 ? (mod * 100 + v) % 97 : (mod * 10 + v) % 97;
  }
  return mod == 1;
}

bool ipValid(std::string_view s) {
  std::string t(s);
  unsigned char buf[16];
  return inet_pton(AF_INET, t.c_str(), buf) == 1 || inet_pton(AF_INET6, t.c_str(), buf) == 1;
}

bool phoneValid(std::string_view s) {
  int digits = 0;
  for (char c : s) digits += (c >= '0' && c <= '9');
  return digits >= 10 && digits <= 15;
}

bool always(std::string_view) { return true; }

// In priority order: where two detections overlap, the earlier type wins (an API key holding
// digits is a key, not a phone number).
const std::vector<Detector>& detectors() {
  static const std::vector<Detector> d = [] {
    RE2::Options o;
    o.set_log_errors(false);
    std::vector<Detector> v;
    auto add = [&](const char* type, const char* re, bool (*valid)(std::string_view)) {
      v.push_back({type, std::make_unique<RE2>(re, o), valid});
    };
    add("api_key",
        R"(\b(?:sk-(?:proj-|ant-(?:api\d\d-)?)?[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}|xox[baprs]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|glpat-[A-Za-z0-9_-]{20,}|sk_(?:live|test)_[A-Za-z0-9]{20,}))",
        always);
    add("email", R"(\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b)", always);
    add("iban", R"(\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b)", ibanValid);
    // Card numbers start with 2-6 (Mastercard 2/5, Amex 3, Visa 4, Discover 6): other 13-19 digit
    // runs that pass Luhn by chance (ISBN-13s, ids) are one in ten.
    add("card", R"(\b[2-6](?:[ -]?\d){12,18}\b)", luhn);
    add("ip",
        R"(\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b|(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){1,6}:(?:[0-9A-Fa-f]{1,4}:){0,5}[0-9A-Fa-f]{1,4})",
        ipValid);
    // A leading +country, a (area) code, or NANP groups joined by '.' or '-': bare digit groups
    // split by spaces are left alone (card-like numbers, ids and amounts look the same).
    add("phone",
        R"((?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){2,4}|\(\d{3}\) ?\d{3}[ .-]\d{4}|\b\d{3}[.-]\d{3}[.-]\d{4})\b)",
        phoneValid);
    return v;
  }();
  return d;
}

std::vector<std::string> allTypes() {
  std::vector<std::string> out;
  for (const auto& d : detectors()) out.push_back(d.type);
  return out;
}

struct Finding {
  std::string type;
  size_t offset, length;
};

std::vector<std::string> typesFrom(const Value& v) {
  if (v.isArray()) {
    std::vector<std::string> out;
    for (const auto& t : v.asArray()) out.push_back(t.asString());
    return out;
  }
  return allTypes();
}

std::vector<Finding> scan(std::string_view text, const std::vector<std::string>& types) {
  std::vector<Finding> found;
  std::map<size_t, size_t> taken;  // start -> end of each finding
  for (const auto& d : detectors()) {
    if (std::find(types.begin(), types.end(), d.type) == types.end()) continue;
    re2::StringPiece input(text.data(), text.size()), m;
    size_t pos = 0;
    while (pos <= text.size() && d.re->Match(input, pos, text.size(), RE2::UNANCHORED, &m, 1)) {
      size_t off = static_cast<size_t>(m.data() - text.data());
      if (m.empty()) {
        pos = off + 1;
        continue;
      }
      if (d.valid(std::string_view(m.data(), m.size()))) {
        // Spans taken so far, by start: a look-up per match, not a pass over every finding (a
        // megabyte of addresses has tens of thousands).
        size_t end = off + m.size();
        auto next = taken.lower_bound(off);
        bool overlaps = (next != taken.end() && next->first < end) ||
                        (next != taken.begin() && std::prev(next)->second > off);
        if (!overlaps) {
          taken.emplace(off, end);
          found.push_back({d.type, off, m.size()});
        }
      }
      pos = off + m.size();
    }
  }
  std::sort(found.begin(), found.end(), [](const Finding& a, const Finding& b) { return a.offset < b.offset; });
  return found;
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string redact(std::string_view text, const std::vector<Finding>& found, const std::string& replacement) {
  std::string out;
  size_t at = 0;
  for (const auto& f : found) {
    out.append(text.substr(at, f.offset - at));
    std::string r = replacement;
    if (auto p = r.find("{type}"); p != std::string::npos) r.replace(p, 6, upper(f.type));
    out += r;
    at = f.offset + f.length;
  }
  out.append(text.substr(at));
  return out;
}

// Prompt-injection signals: phrasings that try to override instructions, change the model's
// role, or reach its hidden prompt. Each has a weight; the score is 1 - prod(1 - w) over the
// signals present, so one strong signal scores high and several weak ones add up.
struct Signal {
  const char* name;
  double weight;
  std::unique_ptr<RE2> re;
};
const std::vector<Signal>& signals() {
  static const std::vector<Signal> s = [] {
    RE2::Options o;
    o.set_case_sensitive(false);
    o.set_log_errors(false);
    std::vector<Signal> v;
    auto add = [&](const char* name, double w, const char* re) { v.push_back({name, w, std::make_unique<RE2>(re, o)}); };
    add("override", 0.7,
        R"((?:ignore|disregard|forget|override|skip)\s+(?:all\s+|any\s+|the\s+|your\s+|these\s+|those\s+)*(?:previous|prior|above|earlier|preceding|original|system)?\s*(?:instructions|prompts?|rules|directions|guidelines|context))");
    add("new_instructions", 0.4, R"((?:new|updated|real|actual)\s+instructions?\s*:)");
    add("role_change", 0.35, R"(\b(?:you are now|from now on,? you|act as|pretend (?:to be|you are)|roleplay as)\b)");
    add("prompt_leak", 0.6,
        R"((?:reveal|show|print|repeat|output|tell me|display|leak)\s+(?:me\s+)?(?:your|the)\s+(?:system\s+prompt|hidden\s+prompt|initial\s+instructions|instructions|rules|secret|password|api key))");
    add("jailbreak", 0.6, R"(\b(?:jailbreak|DAN mode|do anything now|developer mode|no restrictions|without (?:any )?restrictions)\b)");
    add("role_tags", 0.5, R"((?:</?(?:system|assistant|instructions?)>|\[/?INST\]|<\|im_start\|>|<\|im_end\|>|^\s*(?:system|assistant)\s*:))");
    add("exfiltration", 0.4, R"((?:send|post|upload|forward)\s+(?:it|this|the\s+\w+|everything)\s+to\s+(?:https?://|\S+@\S+))");
    add("encoding_trick", 0.25, R"((?:base64|rot13|hex)[- ](?:decode|encoded)\s+(?:this|the following))");
    return v;
  }();
  return s;
}

Value injection(std::string_view text) {
  double keep = 1;
  Value hits = Value::array();
  for (const auto& s : signals()) {
    if (RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *s.re)) {
      keep *= 1 - s.weight;
      hits.asArray().push(s.name);
    }
  }
  double score = std::round((1 - keep) * 1000) / 1000;
  // 0 and 1 as integers, so every language prints them alike.
  Value sv = std::floor(score) == score ? Value(static_cast<int64_t>(score)) : Value(score);
  return Value::object({{"score", sv}, {"signals", hits}});
}

Value findingsValue(std::string_view text, const std::vector<Finding>& found) {
  Value out = Value::array();
  for (const auto& f : found)
    out.asArray().push(Value::object({{"type", f.type},
                                      {"text", std::string(text.substr(f.offset, f.length))},
                                      {"offset", static_cast<int64_t>(f.offset)},
                                      {"length", static_cast<int64_t>(f.length)}}));
  return out;
}

// guard.check's compiled rules, kept across calls: guard.protect runs the same rules on every
// model call, and compiling a pattern costs far more than matching it against a prompt. Keyed by
// the source text (a blocked term is stored as its quoted, case-insensitive pattern); bounded, so a
// spell generating patterns cannot grow it without limit. RE2 objects are safe to share between
// threads once compiled.
std::shared_ptr<const RE2> compiled(const std::string& pattern, bool caseInsensitive) {
  static std::mutex mu;
  static std::map<std::pair<std::string, bool>, std::shared_ptr<const RE2>> cache;
  constexpr size_t kMaxEntries = 512;
  std::lock_guard g(mu);
  auto key = std::make_pair(pattern, caseInsensitive);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  RE2::Options o;
  o.set_log_errors(false);
  o.set_case_sensitive(!caseInsensitive);
  auto re = std::make_shared<const RE2>(pattern, o);
  if (!re->ok()) return re;  // not cached: the caller reports the error
  if (cache.size() >= kMaxEntries) cache.clear();
  cache.emplace(std::move(key), re);
  return re;
}

// guard.check's verdict on one text.
Value check(std::string_view text, const Value& rules) {
  Value violations = Value::array();
  auto violate = [&](const char* rule, std::string msg, Value extra = {}) {
    Value v = Value::object({{"rule", rule}, {"message", std::move(msg)}});
    if (!extra.isNull()) v.asObject().set("details", extra);
    violations.asArray().push(v);
  };
  size_t chars = 0;  // code points: every byte that does not continue a UTF-8 sequence
  for (unsigned char c : text) chars += (c & 0xC0) != 0x80;
  if (rules.get("max_length").isNumber() && chars > static_cast<size_t>(rules.getInt("max_length")))
    violate("max_length", "the text has " + std::to_string(chars) + " characters; at most " +
                              std::to_string(rules.getInt("max_length")) + " are allowed");
  if (rules.get("min_length").isNumber() && chars < static_cast<size_t>(rules.getInt("min_length")))
    violate("min_length", "the text has " + std::to_string(chars) + " characters; at least " +
                              std::to_string(rules.getInt("min_length")) + " are needed");
  if (rules.get("blocked_terms").isArray()) {
    for (const auto& t : rules.get("blocked_terms").asArray()) {
      auto re = compiled("\\b" + RE2::QuoteMeta(t.asString()) + "\\b", true);
      if (RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *re))
        violate("blocked_terms", "the text contains the blocked term '" + t.asString() + "'");
    }
  }
  if (rules.get("patterns").isArray()) {
    for (const auto& p : rules.get("patterns").asArray()) {
      auto re = compiled(p.asString(), false);
      if (!re->ok()) fail(codes::kInvalidArgument, "guard.check: pattern '" + p.asString() + "' is not valid RE2: " + re->error());
      if (RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *re))
        violate("patterns", "the text matches the blocked pattern " + p.asString());
    }
  }
  const Value& pii = rules.get("pii");
  if (pii.truthy()) {
    auto found = scan(text, typesFrom(pii));
    if (!found.empty()) {
      std::string kinds;
      for (const auto& f : found)
        if (kinds.find(f.type) == std::string::npos) kinds += (kinds.empty() ? "" : ", ") + f.type;
      violate("pii", "the text contains personal data or secrets (" + kinds + ")", findingsValue(text, found));
    }
  }
  const Value& inj = rules.get("injection");
  if (inj.truthy()) {
    double threshold = inj.isNumber() ? inj.asNumber() : 0.5;
    Value r = injection(text);
    if (r.getNumber("score") >= threshold)
      violate("injection", "the text looks like a prompt injection (score " + toJsonText(r.get("score")) + ")", r);
  }
  return Value::object({{"ok", violations.asArray().empty()}, {"violations", violations}});
}

// A token bucket: `rate` tokens per `per` seconds, holding at most `burst` (default rate).
class RateLimiter : public HostObject {
 public:
  RateLimiter(double rate, double per, double burst) : perToken_(per / rate), burst_(burst), tokens_(burst) {}
  std::string_view typeName() const override { return "rate_limiter"; }
  // Takes a token if one is there; else how long until one is.
  double take() {
    std::lock_guard g(mu_);
    refill();
    if (tokens_ >= 1) {
      tokens_ -= 1;
      return 0;
    }
    return (1 - tokens_) * perToken_;
  }
  double available() {
    std::lock_guard g(mu_);
    refill();
    return tokens_;
  }

 private:
  void refill() {
    auto now = std::chrono::steady_clock::now();
    double secs = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    tokens_ = std::min(burst_, tokens_ + secs / perToken_);
  }
  std::mutex mu_;
  double perToken_, burst_, tokens_;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

// One rate_limiter:wait(): takes a token when there is one, else sleeps until one is due and
// tries again (another waiter may have taken it meanwhile). The pending timer holds the waiter.
struct Waiter : std::enable_shared_from_this<Waiter> {
  HostObjectPtr limiter;
  Loop* loop = nullptr;
  PromisePtr out = Promise::create();
  Loop::TimerHandle timer;
  void attempt() {
    double wait = static_cast<RateLimiter&>(*limiter).take();
    if (wait == 0) {
      out->resolve(Value());
      return;
    }
    timer = loop->setTimeout(wait, [me = shared_from_this()] { me->attempt(); });
  }
};

struct Limiters {
  std::mutex mu;
  std::map<std::string, std::shared_ptr<RateLimiter>> byName;
};

RateLimiter& limiterOf(const Value& v) {
  auto* l = v.isHandle() ? dynamic_cast<RateLimiter*>(v.asHandle().get()) : nullptr;
  if (!l) fail(codes::kInvalidArgument, "expected a rate limiter made by guard.rate_limiter");
  return *l;
}

// Redacts the PII in every string of a message list's contents (string or parts' text).
Value redactMessages(const Value& messages, const std::vector<std::string>& types, const std::string& repl, int& count) {
  if (!messages.isArray()) return messages;
  Value out = Value::array();
  for (const auto& m : messages.asArray()) {
    if (!m.isObject()) {
      out.asArray().push(m);
      continue;
    }
    Value copy = Value::object();
    for (const auto& [k, v] : m.asObject()) copy.asObject().set(k, v);
    const Value& c = m.get("content");
    auto fix = [&](const std::string& s) {
      auto f = scan(s, types);
      count += static_cast<int>(f.size());
      return f.empty() ? s : redact(s, f, repl);
    };
    if (c.isString()) {
      copy.asObject().set("content", fix(c.asString()));
    } else if (c.isArray()) {
      Value parts = Value::array();
      for (const auto& p : c.asArray()) {
        if (p.isObject() && p.get("text").isString()) {
          Value q = Value::object();
          for (const auto& [k, v] : p.asObject()) q.asObject().set(k, v);
          q.asObject().set("text", fix(p.get("text").asString()));
          parts.asArray().push(q);
        } else {
          parts.asArray().push(p);
        }
      }
      copy.asObject().set("content", parts);
    }
    out.asArray().push(copy);
  }
  return out;
}

std::string lastUserText(const Value& messages) {
  if (!messages.isArray()) return "";
  for (auto it = messages.asArray().items().rbegin(); it != messages.asArray().items().rend(); ++it) {
    if (it->getString("role") != "user") continue;
    const Value& c = it->get("content");
    if (c.isString()) return c.asString();
    std::string t;
    if (c.isArray())
      for (const auto& p : c.asArray()) t += p.getString("text");
    return t;
  }
  return "";
}

constexpr const char* kTypesSchema =
    R"({"type":"array","items":{"enum":["api_key","email","iban","card","ip","phone"]}})";

}  // namespace

void llmspell_register_guard(Registry& r) {
  r.type("rate_limiter", "A token bucket: try, wait, available");

  r.fn("guard", "scan")
      .param("text", R"({"type":"string"})")
      .opt("types", kTypesSchema, "the kinds to look for (default all): api_key, email, iban, card, ip, phone")
      .returns("list of {type, text, offset, length} (offset and length in bytes, offset from 0), in text order")
      .doc("Finds personal data and secrets: emails, phone numbers, card numbers (Luhn-checked), IBANs (mod-97-checked), "
           "IPv4/IPv6 addresses and API-key shapes")
      .sync([](CallContext& cx, Args a) -> Value {
        const std::string& t = a[0].asString();
        auto f = scan(t, typesFrom(a[1]));
        cx.run.memory().require(f.size() * 256, "the guard.scan result");
        return findingsValue(t, f);
      });

  r.fn("guard", "redact")
      .param("text", R"({"type":"string"})")
      .opt("opts", R"J({"type":"object","properties":{
              "types":)J" + std::string(kTypesSchema) + R"J(,
              "replacement":{"type":"string","description":"what replaces each finding; {type} becomes its kind (default \"[{type}]\")"}}})J",
           "{types, replacement}")
      .returns("string: the text with each finding replaced")
      .doc("Redacts what guard.scan finds: \"mail ann@example.com\" becomes \"mail [EMAIL]\"")
      .sync([](CallContext& cx, Args a) -> Value {
        const std::string& t = a[0].asString();
        cx.run.memory().require(t.size() * 2, "the guard.redact result");
        return Value(redact(t, scan(t, typesFrom(a[1].get("types"))), a[1].getString("replacement", "[{type}]")));
      });

  r.fn("guard", "injection_score")
      .param("text", R"({"type":"string"})")
      .returns("{score (0 to 1), signals = {names of what matched}}")
      .doc("A heuristic prompt-injection score: instruction overrides, role changes, prompt-leak requests, jailbreak "
           "phrases, fake role tags, exfiltration requests. A heuristic: it flags, it does not prove")
      .sync([](CallContext&, Args a) -> Value { return injection(a[0].asString()); });

  r.fn("guard", "check")
      .param("text", R"({"type":"string"})")
      .param("rules", R"J({"type":"object","properties":{
              "max_length":{"type":"integer","minimum":0,"description":"characters (code points)"},
              "min_length":{"type":"integer","minimum":0},
              "blocked_terms":{"type":"array","items":{"type":"string"},"description":"whole words, any case"},
              "patterns":{"type":"array","items":{"type":"string"},"description":"RE2 patterns that must not match"},
              "pii":{"type":["boolean","array"],"description":"true, or the kinds (as guard.scan's types)"},
              "injection":{"type":["boolean","number"],"description":"true (threshold 0.5) or the score threshold"}}})J",
             "{max_length, min_length, blocked_terms, patterns, pii, injection}")
      .returns("{ok, violations = {{rule, message, details?}}}")
      .doc("Checks a text against rules and says every rule it breaks")
      .sync([](CallContext&, Args a) -> Value { return check(a[0].asString(), a[1]); });

  r.fn("guard", "rate_limiter")
      .param("name", R"({"type":"string"})", "the same name gives the same limiter within the run")
      .param("opts", R"J({"type":"object","required":["rate"],"properties":{
              "rate":{"type":"number","exclusiveMinimum":0,"description":"tokens per period"},
              "per":{"type":"number","exclusiveMinimum":0,"description":"the period in seconds (default 1)"},
              "burst":{"type":"number","minimum":1,"description":"most tokens held (default rate)"}}})J",
             "{rate, per, burst}")
      .returns("rate_limiter")
      .doc("A token-bucket rate limiter: rate tokens per `per` seconds")
      .sync([](CallContext& cx, Args a) -> Value {
        auto& ls = cx.run.service<Limiters>([] { return std::make_shared<Limiters>(); });
        std::lock_guard g(ls.mu);
        auto& slot = ls.byName[a[0].asString()];
        if (!slot) {
          double rate = a[1].getNumber("rate");
          slot = std::make_shared<RateLimiter>(rate, a[1].getNumber("per", 1), a[1].getNumber("burst", std::max(1.0, rate)));
        }
        return Value(HostObjectPtr(slot));
      });
  r.method("rate_limiter", "try")
      .param("self", R"({"type":"handle"})")
      .returns("boolean: true when a token was taken")
      .doc("Takes a token if one is available, without waiting")
      .sync([](CallContext&, Args a) -> Value { return Value(limiterOf(a[0]).take() == 0); });
  r.method("rate_limiter", "wait")
      .param("self", R"({"type":"handle"})")
      .returns("nil, once a token was taken")
      .doc("Waits until a token is available and takes it")
      .async([](CallContext& cx, Args a) -> PromisePtr {
        auto w = std::make_shared<Waiter>();
        w->limiter = a[0].asHandle();
        w->loop = &cx.loop;
        w->out->setCanceller([weak = std::weak_ptr<Waiter>(w)] {
          if (auto me = weak.lock()) me->timer.cancel();
        });
        w->attempt();
        return w->out;
      });
  r.method("rate_limiter", "available")
      .param("self", R"({"type":"handle"})")
      .returns("number of tokens available now")
      .doc("The tokens in the bucket")
      .sync([](CallContext&, Args a) -> Value { return Value(limiterOf(a[0]).available()); });

  r.fn("guard", "protect")
      .param("agent", R"({"type":"handle"})", "an agent from agent.create")
      .param("opts", R"J({"type":"object","properties":{
              "pii":{"enum":["redact","block"],"description":"personal data in what is sent to the model: redact it, or refuse the call"},
              "pii_types":)J" + std::string(kTypesSchema) + R"J(,
              "output_pii":{"enum":["redact","block"],"description":"personal data in the model's reply"},
              "injection":{"type":["boolean","number"],"description":"refuse a call whose last user message scores at or above this (true: 0.5)"},
              "max_length":{"type":"integer","minimum":1,"description":"refuse a call whose last user message is longer (characters)"},
              "blocked_terms":{"type":"array","items":{"type":"string"}}}})J",
             "{pii, pii_types, output_pii, injection, max_length, blocked_terms}")
      .returns("the agent (the same one, now guarded)")
      .doc("Guards an agent's model calls with llm.call hooks of that agent only: a refused call fails with "
           "code cancelled and the reason; redaction changes what is sent or returned")
      .sync([](CallContext&, Args a) -> Value {
        auto ag = std::dynamic_pointer_cast<agent::Agent>(a[0].asHandle());
        if (!ag) fail(codes::kInvalidArgument, "guard.protect: expected an agent from agent.create");
        HookRegistry* hooks = ag->hookRegistry();
        if (!hooks) fail(codes::kInvalidArgument, "guard.protect: this agent has no hook registry to guard");
        const Value o = a[1];
        auto types = typesFrom(o.get("pii_types"));
        hooks->add(hook_points::kLlmCall, HookKind::kBefore,
                   [o, types](const Value& ctx, const HookNext&) -> PromisePtr {
                     Value args = ctx.get("args");
                     std::string user = lastUserText(args.get("messages"));
                     Value rules = Value::object();
                     for (const char* k : {"injection", "max_length", "blocked_terms"})
                       if (!o.get(k).isNull()) rules.asObject().set(k, o.get(k));
                     if (o.getString("pii") == "block") {
                       Value list = Value::array();
                       for (const auto& t : types) list.asArray().push(t);
                       rules.asObject().set("pii", list);
                     }
                     Value verdict = check(user, rules);
                     if (!verdict.getBool("ok"))
                       return Promise::resolved(Value::object(
                           {{"cancel", "guard: " + verdict.get("violations").asArray()[0].getString("message")}}));
                     if (o.getString("pii") != "redact") return Promise::resolved(Value());
                     int count = 0;
                     Value messages = redactMessages(args.get("messages"), types, "[{type}]", count);
                     if (count == 0) return Promise::resolved(Value());
                     Value changed = Value::object();
                     for (const auto& [k, v] : args.asObject()) changed.asObject().set(k, v);
                     changed.asObject().set("messages", messages);
                     return Promise::resolved(Value::object({{"args", changed}}));
                   },
                   100, "guard.protect input");
        if (!o.get("output_pii").isNull()) {
          hooks->add(hook_points::kLlmCall, HookKind::kAfter,
                     [o, types](const Value& ctx, const HookNext&) -> PromisePtr {
                       Value result = ctx.get("result");
                       const std::string text = result.getString("text");
                       auto found = scan(text, types);
                       if (found.empty()) return Promise::resolved(Value());
                       if (o.getString("output_pii") == "block")
                         return Promise::rejected(Error(codes::kCancelled, "guard: the model's reply contains personal data or secrets"));
                       Value copy = Value::object();
                       for (const auto& [k, v] : result.asObject()) copy.asObject().set(k, v);
                       copy.asObject().set("text", redact(text, found, "[{type}]"));
                       return Promise::resolved(Value::object({{"result", copy}}));
                     },
                     100, "guard.protect output");
        }
        return a[0];
      });
}

}  // namespace llmspell
