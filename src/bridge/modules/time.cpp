// `time` namespace: wall-clock seconds, strftime formatting, ISO 8601 / strptime parsing.
// Times are float seconds since the Unix epoch (UTC), the same number every engine sees.
#include <re2/re2.h>

#include <chrono>
#include <cmath>
#include <ctime>

#include "llmspell/bridge/registry.hpp"

namespace llmspell {

namespace {

double wallNow() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

bool wantLocal(const Value& opts) {
  std::string tz = opts.getString("tz", "utc");
  if (tz == "utc" || tz == "UTC" || tz == "Z") return false;
  if (tz == "local") return true;
  fail(codes::kInvalidArgument, "unknown tz '" + tz + "': use \"utc\" or \"local\"");
}

// Days from 1970-01-01 for a proleptic Gregorian date (H. Hinnant's days_from_civil); avoids
// timegm's silent normalization of out-of-range fields.
int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool validDate(int y, int m, int d) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

// ISO 8601: date, date + time (seconds and fraction optional), zone Z / ±hh:mm / ±hhmm;
// no zone means UTC (or local time with opts.tz = "local").
double parseIso(const std::string& s, bool local) {
  static const RE2 re(
      R"(^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?\s*([Zz]|[+\-]\d{2}(?::?\d{2})?)?$)");
  std::string y, mo, d, h, mi, se, frac, zone;
  if (!RE2::FullMatch(s, re, &y, &mo, &d, &h, &mi, &se, &frac, &zone))
    fail(codes::kInvalidArgument,
         "time.parse: \"" + s +
             "\" is not an ISO 8601 date or date-time (e.g. "
             "\"2024-05-01T12:00:00Z\"); pass a format as the second argument for other layouts");
  int Y = std::stoi(y), M = std::stoi(mo), D = std::stoi(d);
  int hh = h.empty() ? 0 : std::stoi(h), mm = mi.empty() ? 0 : std::stoi(mi);
  int ss = se.empty() ? 0 : std::stoi(se);
  if (!validDate(Y, M, D) || hh > 23 || mm > 59 || ss > 60)
    fail(codes::kInvalidArgument, "time.parse: \"" + s + "\" is not a valid date or time");
  double f = frac.empty() ? 0.0 : std::stod("0" + frac);
  if (zone.empty() && local) {
    std::tm tm{};
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = hh;
    tm.tm_min = mm;
    tm.tm_sec = ss;
    tm.tm_isdst = -1;
    return static_cast<double>(mktime(&tm)) + f;
  }
  int64_t secs = daysFromCivil(Y, static_cast<unsigned>(M), static_cast<unsigned>(D)) * 86400 +
                 int64_t{hh} * 3600 + int64_t{mm} * 60 + ss;
  if (!zone.empty() && zone != "Z" && zone != "z") {
    int sign = zone[0] == '-' ? -1 : 1;
    std::string digits;
    for (char c : zone.substr(1))
      if (c != ':') digits += c;
    int oh = std::stoi(digits.substr(0, 2));
    int om = digits.size() >= 4 ? std::stoi(digits.substr(2, 2)) : 0;
    secs -= int64_t{sign} * (int64_t{oh} * 3600 + int64_t{om} * 60);
  }
  return static_cast<double>(secs) + f;
}

double parseWithFormat(const std::string& s, const std::string& fmt, bool local) {
  std::tm tm{};
  tm.tm_mday = 1;
  tm.tm_isdst = -1;
  const char* end = strptime(s.c_str(), fmt.c_str(), &tm);
  if (!end)
    fail(codes::kInvalidArgument,
         "time.parse: \"" + s + "\" does not match the format \"" + fmt + "\"");
  while (*end == ' ') ++end;
  if (*end)
    fail(codes::kInvalidArgument, "time.parse: unexpected text \"" + std::string(end) +
                                      "\" after the format \"" + fmt + "\" in \"" + s + "\"");
  if (local) return static_cast<double>(mktime(&tm));
  long off = tm.tm_gmtoff;  // set by %z
  return static_cast<double>(timegm(&tm) - off);
}

std::string formatTime(double t, const std::string& fmt, bool local) {
  // Beyond ±1e15 s (about 31 million years) time_t conversion and the calendar break down.
  if (!std::isfinite(t) || std::fabs(t) > 1e15)
    fail(codes::kInvalidArgument,
         "time.format: time must be a finite number of seconds within ±1e15");
  double whole = std::floor(t);
  auto secs = static_cast<time_t>(whole);
  std::tm tm{};
  if (local ? !localtime_r(&secs, &tm) : !gmtime_r(&secs, &tm))
    fail(codes::kInvalidArgument, "time.format: time " + std::to_string(t) + " is out of range");
  // "%f" (not in strftime) is replaced by milliseconds first.
  std::string f = fmt;
  for (size_t i = 0; (i = f.find("%f", i)) != std::string::npos;) {
    if (i > 0 && f[i - 1] == '%') {
      i += 2;
      continue;
    }
    char ms[8];
    snprintf(ms, sizeof ms, "%03d", static_cast<int>((t - whole) * 1000) % 1000);
    f.replace(i, 2, ms);
  }
  std::string out(64 + f.size() * 4, '\0');
  size_t n = strftime(out.data(), out.size(), f.c_str(), &tm);
  if (n == 0 && !f.empty())
    fail(codes::kInvalidArgument,
         "time.format: the format \"" + fmt + "\" produces no text or too much");
  out.resize(n);
  return out;
}

}  // namespace

void llmspell_register_time(Registry& r) {
  r.fn("time", "now")
      .returns("number: seconds since the Unix epoch (fractional)")
      .doc("The current wall-clock time")
      .sync([](CallContext&, Args) -> Value { return Value(wallNow()); });
  r.fn("time", "monotonic")
      .returns("number: seconds on a clock that never goes backwards (for measuring intervals)")
      .doc("A monotonic clock reading")
      .sync([](CallContext&, Args) -> Value {
        using namespace std::chrono;
        return Value(duration<double>(steady_clock::now().time_since_epoch()).count());
      });
  r.fn("time", "since")
      .param("t", R"({"type":"number"})", "an earlier time.now() value")
      .returns("number: seconds elapsed since t")
      .doc("Seconds elapsed since a time.now() value")
      .sync([](CallContext&, Args a) -> Value { return Value(wallNow() - a[0].asNumber()); });
  r.fn("time", "format")
      .opt("t", R"({"type":"number"})", "seconds since the epoch; default now")
      .opt("fmt", R"({"type":"string","maxLength":256})",
           "strftime format (plus %f for milliseconds); default ISO 8601 \"%Y-%m-%dT%H:%M:%SZ\"")
      .opt("opts", R"({"type":"object","properties":{"tz":{"enum":["utc","local"]}}})",
           "{tz = \"utc\" (default) | \"local\"}")
      .returns("string")
      .doc("Formats a time as text, in UTC unless opts.tz = \"local\"")
      .sync([](CallContext&, Args a) -> Value {
        bool local = wantLocal(a[2]);
        double t = a[0].isNumber() ? a[0].asNumber() : wallNow();
        std::string fmt = a[1].isString() ? a[1].asString()
                                          : (local ? "%Y-%m-%dT%H:%M:%S%z" : "%Y-%m-%dT%H:%M:%SZ");
        return Value(formatTime(t, fmt, local));
      });
  r.fn("time", "parse")
      .param("text", R"({"type":"string"})")
      .opt("fmt", R"({"type":"string","maxLength":256})",
           "strptime format; default ISO 8601 (date, date-time, zone Z or ±hh:mm)")
      .opt("opts", R"({"type":"object","properties":{"tz":{"enum":["utc","local"]}}})",
           "{tz}: the zone of times written without one; default utc")
      .returns("number: seconds since the epoch")
      .doc("Parses a date/time; text that does not match raises invalid_argument")
      .sync([](CallContext&, Args a) -> Value {
        bool local = wantLocal(a[2]);
        if (a[1].isString()) return Value(parseWithFormat(a[0].asString(), a[1].asString(), local));
        return Value(parseIso(a[0].asString(), local));
      });
}

}  // namespace llmspell
