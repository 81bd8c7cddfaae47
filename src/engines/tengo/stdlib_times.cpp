// Tengo `times` module and time values: Go layout formatting/parsing, durations, civil dates.
#include <cmath>
#include <cstring>
#include <ctime>

#include <date/tz.h>

#include "engines/tengo/core.hpp"
#include "engines/tengo/stdlib_util.hpp"

namespace llmspell::tengo::detail {

namespace {

int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp + (mp < 10 ? 3 : -9);
  *y = yy + (*m <= 2);
}

int32_t localOffset(int64_t sec, std::string* abbr) {
  time_t t = static_cast<time_t>(sec);
  struct tm tmv;
  if (!localtime_r(&t, &tmv)) {
    if (abbr) *abbr = "UTC";
    return 0;
  }
  if (abbr) *abbr = tmv.tm_zone ? tmv.tm_zone : "UTC";
  return static_cast<int32_t>(tmv.tm_gmtoff);
}

// A named zone from the system's IANA database (/usr/share/zoneinfo, read by the date library
// built with USE_OS_TZDB); nullptr when the name is unknown or the database is missing.
const date::time_zone* findZone(const std::string& name) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return nullptr;
  }
}

// The rule of a zone in force at a Unix time: its offset, abbreviation, and the span
// [start, end) it covers.
struct ZoneSpan {
  int32_t offset = 0;
  int64_t start = 0, end = 0;
  std::string abbr;
};
ZoneSpan zoneAt(const date::time_zone& z, int64_t sec) {
  date::sys_info i = z.get_info(date::sys_seconds{std::chrono::seconds{sec}});
  return {static_cast<int32_t>(i.offset.count()), i.begin.time_since_epoch().count(), i.end.time_since_epoch().count(),
          i.abbrev};
}

struct Civil {
  int64_t year;
  unsigned month, day;
  int hour, min, sec;
  int32_t nsec;
  int weekday;  // 0 = Sunday
  int yday;     // 1-based
};

Civil toCivil(const TimeObj& t) {
  int64_t s = t.sec + t.offset;
  int64_t days = s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
  int64_t rem = s - days * 86400;
  Civil c;
  civilFromDays(days, &c.year, &c.month, &c.day);
  c.hour = static_cast<int>(rem / 3600);
  c.min = static_cast<int>(rem % 3600 / 60);
  c.sec = static_cast<int>(rem % 60);
  c.nsec = t.nsec;
  c.weekday = static_cast<int>(((days % 7) + 11) % 7);  // 1970-01-01 was Thursday (4)
  c.yday = static_cast<int>(days - daysFromCivil(c.year, 1, 1)) + 1;
  return c;
}

const char* kMonths[] = {"January", "February", "March", "April", "May", "June", "July",
                         "August", "September", "October", "November", "December"};
const char* kDays[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                       "Saturday"};

std::string pad(int64_t v, int w) {
  std::string s = std::to_string(v < 0 ? -v : v);
  while (static_cast<int>(s.size()) < w) s = "0" + s;
  return v < 0 ? "-" + s : s;
}

// Layout tokens (subset of Go's nextStdChunk).
enum Std {
  kNone, kLongMonth, kMonth, kNumMonth, kZeroMonth, kLongWeekDay, kWeekDay, kDay, kUnderDay,
  kZeroDay, kUnderYearDay, kZeroYearDay, kHour, kHour12, kZeroHour12, kMinute, kZeroMinute,
  kSecond, kZeroSecond, kLongYear, kYear, kPM, kpm, kTZ, kISO8601TZ, kISO8601SecondsTZ,
  kISO8601ShortTZ, kISO8601ColonTZ, kISO8601ColonSecondsTZ, kNumTZ, kNumSecondsTz, kNumShortTZ,
  kNumColonTZ, kNumColonSecondsTZ, kFracSecond0, kFracSecond9
};

bool startsWith(const std::string& s, size_t i, const char* p) {
  return s.compare(i, strlen(p), p) == 0;
}

// Returns prefix length before the token, the token and its length (Go nextStdChunk).
Std nextChunk(const std::string& l, size_t i, size_t* tokLen, int* fracDigits) {
  char c = l[i];
  switch (c) {
    case 'J':
      if (startsWith(l, i, "Jan")) {
        if (startsWith(l, i, "January")) { *tokLen = 7; return kLongMonth; }
        *tokLen = 3;
        return kMonth;
      }
      break;
    case 'M':
      if (startsWith(l, i, "Monday")) { *tokLen = 6; return kLongWeekDay; }
      if (startsWith(l, i, "Mon")) { *tokLen = 3; return kWeekDay; }
      if (startsWith(l, i, "MST")) { *tokLen = 3; return kTZ; }
      break;
    case '0':
      if (i + 1 < l.size() && l[i + 1] >= '1' && l[i + 1] <= '6') {
        *tokLen = 2;
        switch (l[i + 1]) {
          case '1': return kZeroMonth;
          case '2': return kZeroDay;
          case '3': return kZeroHour12;
          case '4': return kZeroMinute;
          case '5': return kZeroSecond;
          case '6': return kYear;
        }
      }
      if (startsWith(l, i, "002")) { *tokLen = 3; return kZeroYearDay; }
      break;
    case '1':
      if (startsWith(l, i, "15")) { *tokLen = 2; return kHour; }
      *tokLen = 1;
      return kNumMonth;
    case '2':
      if (startsWith(l, i, "2006")) { *tokLen = 4; return kLongYear; }
      *tokLen = 1;
      return kDay;
    case '_':
      if (startsWith(l, i, "_2")) {
        if (startsWith(l, i, "_2006")) { *tokLen = 5; return kNone; }
        if (startsWith(l, i, "__2")) { *tokLen = 3; return kUnderYearDay; }
        *tokLen = 2;
        return kUnderDay;
      }
      if (startsWith(l, i, "__2")) { *tokLen = 3; return kUnderYearDay; }
      break;
    case '3': *tokLen = 1; return kHour12;
    case '4': *tokLen = 1; return kMinute;
    case '5': *tokLen = 1; return kSecond;
    case 'P':
      if (startsWith(l, i, "PM")) { *tokLen = 2; return kPM; }
      break;
    case 'p':
      if (startsWith(l, i, "pm")) { *tokLen = 2; return kpm; }
      break;
    case '-':
      if (startsWith(l, i, "-07:00:00")) { *tokLen = 9; return kNumColonSecondsTZ; }
      if (startsWith(l, i, "-0700")) { *tokLen = 5; return kNumTZ; }
      if (startsWith(l, i, "-07:00")) { *tokLen = 6; return kNumColonTZ; }
      if (startsWith(l, i, "-070000")) { *tokLen = 7; return kNumSecondsTz; }
      if (startsWith(l, i, "-07")) { *tokLen = 3; return kNumShortTZ; }
      break;
    case 'Z':
      if (startsWith(l, i, "Z07:00:00")) { *tokLen = 9; return kISO8601ColonSecondsTZ; }
      if (startsWith(l, i, "Z070000")) { *tokLen = 7; return kISO8601SecondsTZ; }
      if (startsWith(l, i, "Z0700")) { *tokLen = 5; return kISO8601TZ; }
      if (startsWith(l, i, "Z07:00")) { *tokLen = 6; return kISO8601ColonTZ; }
      if (startsWith(l, i, "Z07")) { *tokLen = 3; return kISO8601ShortTZ; }
      break;
    case '.': case ',':
      if (i + 1 < l.size() && (l[i + 1] == '0' || l[i + 1] == '9')) {
        char ch = l[i + 1];
        size_t j = i + 1;
        while (j < l.size() && l[j] == ch) ++j;
        if (!(j < l.size() && l[j] >= '0' && l[j] <= '9')) {
          *tokLen = j - i;
          *fracDigits = static_cast<int>(j - i - 1);
          return ch == '0' ? kFracSecond0 : kFracSecond9;
        }
      }
      break;
  }
  return kNone;
}

std::string zoneString(int32_t off, bool colon, bool seconds, bool shortForm, bool z) {
  if (z && off == 0) return "Z";
  std::string s = off < 0 ? "-" : "+";
  int32_t a = off < 0 ? -off : off;
  s += pad(a / 3600, 2);
  if (shortForm) return s;
  if (colon) s += ":";
  s += pad(a % 3600 / 60, 2);
  if (seconds) {
    if (colon) s += ":";
    s += pad(a % 60, 2);
  }
  return s;
}

}  // namespace

std::string goFormatTime(const TimeObj& t, const std::string& layout) {
  Civil c = toCivil(t);
  std::string out;
  size_t i = 0;
  while (i < layout.size()) {
    size_t tl = 0;
    int fd = 0;
    Std s = nextChunk(layout, i, &tl, &fd);
    if (s == kNone) {
      if (tl == 0) tl = 1;
      out.append(layout, i, tl);
      i += tl;
      continue;
    }
    i += tl;
    switch (s) {
      case kYear: out += pad(c.year % 100, 2); break;
      case kLongYear: out += pad(c.year, 4); break;
      case kMonth: out += std::string(kMonths[c.month - 1]).substr(0, 3); break;
      case kLongMonth: out += kMonths[c.month - 1]; break;
      case kNumMonth: out += std::to_string(c.month); break;
      case kZeroMonth: out += pad(c.month, 2); break;
      case kWeekDay: out += std::string(kDays[c.weekday]).substr(0, 3); break;
      case kLongWeekDay: out += kDays[c.weekday]; break;
      case kDay: out += std::to_string(c.day); break;
      case kUnderDay: out += (c.day < 10 ? " " : "") + std::to_string(c.day); break;
      case kZeroDay: out += pad(c.day, 2); break;
      case kUnderYearDay: {
        std::string d = std::to_string(c.yday);
        while (d.size() < 3) d = " " + d;
        out += d;
        break;
      }
      case kZeroYearDay: out += pad(c.yday, 3); break;
      case kHour: out += pad(c.hour, 2); break;
      case kHour12: out += std::to_string(c.hour % 12 == 0 ? 12 : c.hour % 12); break;
      case kZeroHour12: out += pad(c.hour % 12 == 0 ? 12 : c.hour % 12, 2); break;
      case kMinute: out += std::to_string(c.min); break;
      case kZeroMinute: out += pad(c.min, 2); break;
      case kSecond: out += std::to_string(c.sec); break;
      case kZeroSecond: out += pad(c.sec, 2); break;
      case kPM: out += c.hour >= 12 ? "PM" : "AM"; break;
      case kpm: out += c.hour >= 12 ? "pm" : "am"; break;
      case kTZ: {
        if (!t.zone.empty() && t.zone != "Local") out += t.zone;
        else out += zoneString(t.offset, false, false, false, false);
        break;
      }
      case kISO8601TZ: out += zoneString(t.offset, false, false, false, true); break;
      case kISO8601SecondsTZ: out += zoneString(t.offset, false, true, false, true); break;
      case kISO8601ShortTZ: out += zoneString(t.offset, false, false, true, true); break;
      case kISO8601ColonTZ: out += zoneString(t.offset, true, false, false, true); break;
      case kISO8601ColonSecondsTZ: out += zoneString(t.offset, true, true, false, true); break;
      case kNumTZ: out += zoneString(t.offset, false, false, false, false); break;
      case kNumSecondsTz: out += zoneString(t.offset, false, true, false, false); break;
      case kNumShortTZ: out += zoneString(t.offset, false, false, true, false); break;
      case kNumColonTZ: out += zoneString(t.offset, true, false, false, false); break;
      case kNumColonSecondsTZ: out += zoneString(t.offset, true, true, false, false); break;
      case kFracSecond0: case kFracSecond9: {
        std::string digits = pad(c.nsec, 9).substr(0, static_cast<size_t>(fd));
        if (s == kFracSecond9) {
          while (!digits.empty() && digits.back() == '0') digits.pop_back();
          if (digits.empty()) break;
        }
        out += layout[i - tl];
        out += digits;
        break;
      }
      default: break;
    }
  }
  return out;
}

namespace {

bool parseDigits(const std::string& v, size_t* p, int minN, int maxN, int64_t* out) {
  size_t start = *p;
  int64_t x = 0;
  while (*p < v.size() && static_cast<int>(*p - start) < maxN && v[*p] >= '0' && v[*p] <= '9') {
    x = x * 10 + (v[*p] - '0');
    ++*p;
  }
  if (static_cast<int>(*p - start) < minN) return false;
  *out = x;
  return true;
}

bool parseZone(const std::string& v, size_t* p, Std s, int32_t* off, bool* utc) {
  bool z = s == kISO8601TZ || s == kISO8601SecondsTZ || s == kISO8601ShortTZ ||
           s == kISO8601ColonTZ || s == kISO8601ColonSecondsTZ;
  if (z && *p < v.size() && v[*p] == 'Z') {
    ++*p;
    *off = 0;
    *utc = true;
    return true;
  }
  if (*p >= v.size() || (v[*p] != '+' && v[*p] != '-')) return false;
  int sign = v[*p] == '-' ? -1 : 1;
  ++*p;
  int64_t h = 0, m = 0, sec = 0;
  if (!parseDigits(v, p, 2, 2, &h)) return false;
  bool colon = s == kISO8601ColonTZ || s == kISO8601ColonSecondsTZ || s == kNumColonTZ ||
               s == kNumColonSecondsTZ;
  bool shortF = s == kISO8601ShortTZ || s == kNumShortTZ;
  bool secs = s == kISO8601SecondsTZ || s == kISO8601ColonSecondsTZ || s == kNumSecondsTz ||
              s == kNumColonSecondsTZ;
  if (!shortF) {
    if (colon) {
      if (*p >= v.size() || v[*p] != ':') return false;
      ++*p;
    }
    if (!parseDigits(v, p, 2, 2, &m)) return false;
    if (secs) {
      if (colon) {
        if (*p >= v.size() || v[*p] != ':') return false;
        ++*p;
      }
      if (!parseDigits(v, p, 2, 2, &sec)) return false;
    }
  }
  *off = static_cast<int32_t>(sign * (h * 3600 + m * 60 + sec));
  *utc = false;
  return true;
}

}  // namespace

// Go time.Parse(layout, value). Returns false with *err set on failure.
bool goParseTime(const std::string& layout, const std::string& value, TimeObj* out,
                 std::string* err) {
  int64_t year = 1, month = 1, day = 1, hour = 0, min = 0, sec = 0, nsec = 0;
  int32_t off = 0;
  bool haveZone = false, utc = true, pm = false, pmSet = false;
  std::string zoneName;
  size_t i = 0, p = 0;
  auto bad = [&](const std::string& elem) {
    *err = "parsing time \"" + value + "\" as \"" + layout + "\": cannot parse \"" +
           value.substr(std::min(p, value.size())) + "\" as \"" + elem + "\"";
    return false;
  };
  while (i < layout.size()) {
    size_t tl = 0;
    int fd = 0;
    Std s = nextChunk(layout, i, &tl, &fd);
    if (s == kNone) {
      if (tl == 0) tl = 1;
      std::string lit = layout.substr(i, tl);
      if (value.compare(p, tl, lit) != 0) return bad(lit);
      p += tl;
      i += tl;
      continue;
    }
    std::string elem = layout.substr(i, tl);
    i += tl;
    switch (s) {
      case kLongYear: if (!parseDigits(value, &p, 4, 4, &year)) return bad(elem); break;
      case kYear:
        if (!parseDigits(value, &p, 2, 2, &year)) return bad(elem);
        year += year >= 69 ? 1900 : 2000;
        break;
      case kMonth: case kLongMonth: {
        bool found = false;
        for (int k = 0; k < 12; ++k) {
          std::string name = s == kMonth ? std::string(kMonths[k]).substr(0, 3) : kMonths[k];
          if (value.compare(p, name.size(), name) == 0) {
            month = k + 1;
            p += name.size();
            found = true;
            break;
          }
        }
        if (!found) return bad(elem);
        break;
      }
      case kNumMonth: if (!parseDigits(value, &p, 1, 2, &month)) return bad(elem); break;
      case kZeroMonth: if (!parseDigits(value, &p, 2, 2, &month)) return bad(elem); break;
      case kWeekDay: case kLongWeekDay: {
        bool found = false;
        for (int k = 0; k < 7; ++k) {
          std::string name = s == kWeekDay ? std::string(kDays[k]).substr(0, 3) : kDays[k];
          if (value.compare(p, name.size(), name) == 0) {
            p += name.size();
            found = true;
            break;
          }
        }
        if (!found) return bad(elem);
        break;
      }
      case kUnderDay:
        if (p < value.size() && value[p] == ' ') ++p;
        if (!parseDigits(value, &p, 1, 2, &day)) return bad(elem);
        break;
      case kDay: if (!parseDigits(value, &p, 1, 2, &day)) return bad(elem); break;
      case kZeroDay: if (!parseDigits(value, &p, 2, 2, &day)) return bad(elem); break;
      case kHour: if (!parseDigits(value, &p, 2, 2, &hour)) return bad(elem); break;
      case kHour12: if (!parseDigits(value, &p, 1, 2, &hour)) return bad(elem); break;
      case kZeroHour12: if (!parseDigits(value, &p, 2, 2, &hour)) return bad(elem); break;
      case kMinute: if (!parseDigits(value, &p, 1, 2, &min)) return bad(elem); break;
      case kZeroMinute: if (!parseDigits(value, &p, 2, 2, &min)) return bad(elem); break;
      case kSecond: case kZeroSecond: {
        if (!parseDigits(value, &p, s == kSecond ? 1 : 2, 2, &sec)) return bad(elem);
        // Go accepts a fractional second after seconds even if the layout has none.
        if (p + 1 < value.size() && (value[p] == '.' || value[p] == ',') &&
            value[p + 1] >= '0' && value[p + 1] <= '9' &&
            !(i < layout.size() && (layout[i] == '.' || layout[i] == ','))) {
          ++p;
          size_t st = p;
          int64_t f = 0;
          parseDigits(value, &p, 1, 9, &f);
          for (size_t k = p - st; k < 9; ++k) f *= 10;
          while (p < value.size() && value[p] >= '0' && value[p] <= '9') ++p;
          nsec = f;
        }
        break;
      }
      case kPM: case kpm: {
        std::string a = value.substr(p, 2);
        if (a == "PM" || a == "pm") pm = true;
        else if (a != "AM" && a != "am") return bad(elem);
        pmSet = true;
        p += 2;
        break;
      }
      case kTZ: {
        size_t st = p;
        while (p < value.size() && std::isupper(static_cast<unsigned char>(value[p]))) ++p;
        if (p - st < 3) return bad(elem);
        zoneName = value.substr(st, p - st);
        if (zoneName == "UTC" || zoneName == "GMT") {
          haveZone = true;
          utc = true;
        }
        break;
      }
      case kFracSecond0: case kFracSecond9: {
        if (p >= value.size() || (value[p] != '.' && value[p] != ',')) {
          if (s == kFracSecond9) break;
          return bad(elem);
        }
        ++p;
        size_t st = p;
        int64_t f = 0;
        parseDigits(value, &p, s == kFracSecond0 ? fd : 0, 9, &f);
        for (size_t k = p - st; k < 9; ++k) f *= 10;
        nsec = f;
        break;
      }
      default:
        if (!parseZone(value, &p, s, &off, &utc)) return bad(elem);
        haveZone = true;
        break;
    }
  }
  if (p != value.size()) {
    *err = "parsing time \"" + value + "\": extra text: \"" + value.substr(p) + "\"";
    return false;
  }
  if (pmSet) {
    if (pm && hour < 12) hour += 12;
    else if (!pm && hour == 12) hour = 0;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 59) {
    *err = "parsing time \"" + value + "\": value out of range";
    return false;
  }
  int64_t days = daysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  out->sec = days * 86400 + hour * 3600 + min * 60 + sec - (haveZone ? off : 0);
  out->nsec = static_cast<int32_t>(nsec);
  if (!haveZone || (utc && off == 0)) {
    out->offset = 0;
    out->zone = zoneName.empty() ? "UTC" : zoneName;
    out->local = false;
  } else {
    out->offset = off;
    out->zone = "";
    out->local = false;
  }
  return true;
}

std::string timeString(const TimeObj& t) {
  // Go Time.String(): "2006-01-02 15:04:05.999999999 -0700 MST"
  return goFormatTime(t, "2006-01-02 15:04:05.999999999 -0700 MST");
}

Value makeTime(int64_t sec, int32_t nsec, bool local) {
  auto* t = new TimeObj();
  t->sec = sec;
  t->nsec = nsec;
  t->local = local;
  if (local) {
    std::string abbr;
    t->offset = localOffset(sec, &abbr);
    t->zone = abbr;
  } else {
    t->offset = 0;
    t->zone = "UTC";
  }
  return Value::object(Type::kTime, t);
}

void refreshZone(TimeObj* t) {
  if (!t->loc.empty()) {
    if (const date::time_zone* z = findZone(t->loc)) {
      ZoneSpan span = zoneAt(*z, t->sec);
      t->offset = span.offset;
      t->zone = span.abbr;
    }
  } else if (t->local) {
    std::string abbr;
    t->offset = localOffset(t->sec, &abbr);
    t->zone = abbr;
  }
}

// `zoneMode` is "UTC", "Local" or an IANA name the caller has checked with findZone.
Value timeWithZone(const TimeObj& src, const std::string& zoneMode) {
  auto* t = new TimeObj(src);
  t->refs = 0;
  t->loc.clear();
  t->local = false;
  if (zoneMode == "UTC") {
    t->offset = 0;
    t->zone = "UTC";
  } else {
    if (zoneMode == "Local") t->local = true;
    else t->loc = zoneMode;
    refreshZone(t);
  }
  return Value::object(Type::kTime, t);
}

// Go time.Duration.String()
std::string durationString(int64_t d) {
  if (d == 0) return "0s";
  bool neg = d < 0;
  uint64_t u = neg ? 0 - static_cast<uint64_t>(d) : static_cast<uint64_t>(d);
  std::string out;
  if (u < 1000000000ULL) {
    // sub-second: ns, µs, ms
    const char* unit;
    int prec;
    if (u < 1000) {
      return (neg ? "-" : "") + std::to_string(u) + "ns";
    } else if (u < 1000000) {
      unit = "µs";
      prec = 3;
    } else {
      unit = "ms";
      prec = 6;
    }
    uint64_t whole = u, frac = 0;
    uint64_t div = 1;
    for (int k = 0; k < prec; ++k) div *= 10;
    whole = u / div;
    frac = u % div;
    std::string fs = std::to_string(frac);
    while (static_cast<int>(fs.size()) < prec) fs = "0" + fs;
    while (!fs.empty() && fs.back() == '0') fs.pop_back();
    out = std::to_string(whole) + (fs.empty() ? "" : "." + fs) + unit;
    return (neg ? "-" : "") + out;
  }
  uint64_t secs = u / 1000000000ULL, frac = u % 1000000000ULL;
  std::string fs = std::to_string(frac);
  while (fs.size() < 9) fs = "0" + fs;
  while (!fs.empty() && fs.back() == '0') fs.pop_back();
  std::string s = std::to_string(secs % 60) + (fs.empty() ? "" : "." + fs) + "s";
  uint64_t mins = secs / 60;
  if (mins > 0) {
    s = std::to_string(mins % 60) + "m" + s;
    uint64_t hours = mins / 60;
    if (hours > 0) s = std::to_string(hours) + "h" + s;
  }
  return (neg ? "-" : "") + s;
}

// Go time.ParseDuration
bool parseDuration(const std::string& in, int64_t* out, std::string* err) {
  std::string s = in;
  bool neg = false;
  size_t p = 0;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    p = 1;
  }
  if (s.substr(p) == "0") {
    *out = 0;
    return true;
  }
  if (p >= s.size()) {
    *err = "time: invalid duration \"" + in + "\"";
    return false;
  }
  double total = 0;
  while (p < s.size()) {
    size_t st = p;
    while (p < s.size() && (std::isdigit(static_cast<unsigned char>(s[p])) || s[p] == '.')) ++p;
    if (st == p) {
      *err = "time: invalid duration \"" + in + "\"";
      return false;
    }
    double v = std::strtod(s.substr(st, p - st).c_str(), nullptr);
    size_t us = p;
    while (p < s.size() && !std::isdigit(static_cast<unsigned char>(s[p])) && s[p] != '.') ++p;
    std::string unit = s.substr(us, p - us);
    double mul;
    if (unit == "ns") mul = 1;
    else if (unit == "us" || unit == "µs" || unit == "μs") mul = 1e3;
    else if (unit == "ms") mul = 1e6;
    else if (unit == "s") mul = 1e9;
    else if (unit == "m") mul = 60e9;
    else if (unit == "h") mul = 3600e9;
    else {
      *err = unit.empty() ? "time: missing unit in duration \"" + in + "\""
                          : "time: unknown unit \"" + unit + "\" in duration \"" + in + "\"";
      return false;
    }
    total += v * mul;
  }
  if (total > 9.223372036854775807e18) {
    *err = "time: invalid duration \"" + in + "\"";
    return false;
  }
  *out = static_cast<int64_t>(std::llround(neg ? -total : total));
  return true;
}

namespace {

const TimeObj* argTime(Args a, size_t i) {
  if (i >= a.size() || a[i].type() != Type::kTime) return nullptr;
  return a[i].as<TimeObj>();
}

// Go's time.Date. `loc` is "" or "UTC", "Local", or an IANA name the caller has checked.
Value timeFromCivil(int64_t y, int64_t mo, int64_t d, int64_t h, int64_t mi, int64_t s,
                    int64_t ns, const std::string& loc) {
  // Normalise month overflow like Go's time.Date.
  int64_t m0 = mo - 1;
  y += m0 >= 0 ? m0 / 12 : -((-m0 + 11) / 12);
  m0 = ((m0 % 12) + 12) % 12;
  int64_t days = daysFromCivil(y, static_cast<unsigned>(m0 + 1), 1) + d - 1;
  int64_t secs = days * 86400 + h * 3600 + mi * 60 + s;
  secs += ns >= 0 ? ns / 1000000000 : -((-ns + 999999999) / 1000000000);
  ns = ((ns % 1000000000) + 1000000000) % 1000000000;
  if (loc == "Local") {
    int32_t off = localOffset(secs, nullptr);
    secs -= off;
    return makeTime(secs, static_cast<int32_t>(ns), true);
  }
  if (loc.empty() || loc == "UTC") return makeTime(secs, static_cast<int32_t>(ns), false);
  // As Go does: the offset in force at the wall time read as UTC, unless the instant that gives
  // falls outside that rule's span (a transition in between), then the offset at that instant.
  const date::time_zone* z = findZone(loc);
  if (z) {
    ZoneSpan span = zoneAt(*z, secs);
    if (span.offset != 0) {
      int64_t utc = secs - span.offset;
      if (utc < span.start || utc >= span.end) span = zoneAt(*z, utc);
      secs -= span.offset;
    }
  }
  Value v = makeTime(secs, static_cast<int32_t>(ns), false);
  auto* t = v.as<TimeObj>();
  t->loc = loc;
  refreshZone(t);
  return v;
}

// "" / "UTC" / "Local" or a known IANA name; false for an unknown zone (Go's "unknown time zone").
bool knownLocation(const std::string& loc) {
  return loc.empty() || loc == "UTC" || loc == "Local" || findZone(loc) != nullptr;
}

#define REQ_TIME(i)                                              \
  const TimeObj* t##i = argTime(a, i);                           \
  if (!t##i) {                                                   \
    if (a.size() <= i) return Result::wrongArgs();               \
    return Result::badArg(kArgNames[i], "time(compatible)", typeName(a[i])); \
  }

Result timeGetter(Vm&, Args a, int which) {
  if (a.size() != 1) return Result::wrongArgs();
  REQ_TIME(0);
  Civil c = toCivil(*t0);
  switch (which) {
    case 0: return Value::integer(c.year);
    case 1: return Value::integer(c.month);
    case 2: return Value::integer(c.day);
    case 3: return Value::integer(c.weekday);
    case 4: return Value::integer(c.hour);
    case 5: return Value::integer(c.min);
    case 6: return Value::integer(c.sec);
    case 7: return Value::integer(c.nsec);
    case 8: return Value::integer(t0->sec);
    case 9:
      return Value::integer(static_cast<int64_t>(static_cast<uint64_t>(t0->sec) * 1000000000ULL +
                                                 static_cast<uint64_t>(t0->nsec)));
  }
  return Value();
}

}  // namespace

void addTimesModule(Attrs& m) {
  auto fn = [&](const char* name, NativeFn f) { m[name] = makeNative(name, std::move(f)); };
  static const char* getters[] = {"time_year", "time_month", "time_day", "time_weekday",
                                  "time_hour", "time_minute", "time_second",
                                  "time_nanosecond", "time_unix", "time_unix_nano"};
  for (int k = 0; k < 10; ++k)
    fn(getters[k], [k](Vm& vm, Args a) { return timeGetter(vm, a, k); });
  fn("sleep", [](Vm&, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    int64_t d;
    if (!toInt64(a[0], &d)) return Result::badArg("first", "int(compatible)", typeName(a[0]));
    if (d > 0) {
      struct timespec ts{static_cast<time_t>(d / 1000000000), static_cast<long>(d % 1000000000)};
      nanosleep(&ts, nullptr);
    }
    return Value();
  });
  fn("parse_duration", [](Vm&, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    std::string s;
    if (!toStringValue(a[0], &s)) return Result::badArg("first", "string(compatible)", typeName(a[0]));
    int64_t d;
    std::string err;
    if (!parseDuration(s, &d, &err)) return makeError(makeString(err));
    return Value::integer(d);
  });
  auto nowNs = []() {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return std::pair<int64_t, int32_t>(ts.tv_sec, static_cast<int32_t>(ts.tv_nsec));
  };
  fn("since", [nowNs](Vm&, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    REQ_TIME(0);
    auto [s, ns] = nowNs();
    return Value::integer((s - t0->sec) * 1000000000 + (ns - t0->nsec));
  });
  fn("until", [nowNs](Vm&, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    REQ_TIME(0);
    auto [s, ns] = nowNs();
    return Value::integer((t0->sec - s) * 1000000000 + (t0->nsec - ns));
  });
  auto durFn = [&](const char* name, double div) {
    fn(name, [div](Vm&, Args a) -> Result {
      if (a.size() != 1) return Result::wrongArgs();
      int64_t d;
      if (!toInt64(a[0], &d)) return Result::badArg("first", "int(compatible)", typeName(a[0]));
      if (div == 1) return Value::integer(d);
      int64_t whole = d / static_cast<int64_t>(div), rem = d % static_cast<int64_t>(div);
      return Value::number(static_cast<double>(whole) + static_cast<double>(rem) / div);
    });
  };
  durFn("duration_hours", 3600e9);
  durFn("duration_minutes", 60e9);
  durFn("duration_seconds", 1e9);
  durFn("duration_nanoseconds", 1);
  fn("duration_string", [](Vm&, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    int64_t d;
    if (!toInt64(a[0], &d)) return Result::badArg("first", "int(compatible)", typeName(a[0]));
    return makeString(durationString(d));
  });
  fn("month_string", [](Vm&, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    int64_t mo;
    if (!toInt64(a[0], &mo)) return Result::badArg("first", "int(compatible)", typeName(a[0]));
    if (mo >= 1 && mo <= 12) return makeString(kMonths[mo - 1]);
    return makeString("%!Month(" + std::to_string(mo) + ")");
  });
  fn("date", [](Vm&, Args a) -> Result {
    if (a.size() < 7 || a.size() > 8) return Result::wrongArgs();
    int64_t v[7];
    for (size_t k = 0; k < 7; ++k)
      if (!toInt64(a[k], &v[k]))
        return Result::badArg(kArgNames[k], "int(compatible)", typeName(a[k]));
    std::string loc = "Local";
    if (a.size() == 8) {
      if (!toStringValue(a[7], &loc)) return Result::badArg("eighth", "string(compatible)", typeName(a[7]));
      if (!knownLocation(loc)) return makeError(makeString("unknown time zone " + loc));
    }
    return timeFromCivil(v[0], v[1], v[2], v[3], v[4], v[5], v[6], loc);
  });
  fn("now", [nowNs](Vm&, Args a) -> Result {
    if (!a.empty()) return Result::wrongArgs();
    auto [s, ns] = nowNs();
    return makeTime(s, ns, true);
  });
  fn("parse", [](Vm&, Args a) -> Result {
    if (a.size() != 2) return Result::wrongArgs();
    std::string layout, value;
    if (!toStringValue(a[0], &layout)) return Result::badArg("first", "string(compatible)", typeName(a[0]));
    if (!toStringValue(a[1], &value)) return Result::badArg("second", "string(compatible)", typeName(a[1]));
    auto* t = new TimeObj();
    Value tv = Value::object(Type::kTime, t);
    std::string err;
    if (!goParseTime(layout, value, t, &err)) return makeError(makeString(err));
    return tv;
  });
  fn("unix", [](Vm&, Args a) -> Result {
    if (a.size() != 2) return Result::wrongArgs();
    int64_t s, ns;
    if (!toInt64(a[0], &s)) return Result::badArg("first", "int(compatible)", typeName(a[0]));
    if (!toInt64(a[1], &ns)) return Result::badArg("second", "int(compatible)", typeName(a[1]));
    s += ns >= 0 ? ns / 1000000000 : -((-ns + 999999999) / 1000000000);
    ns = ((ns % 1000000000) + 1000000000) % 1000000000;
    return makeTime(s, static_cast<int32_t>(ns), true);
  });
  fn("add", [](Vm& vm, Args a) -> Result {
    if (a.size() != 2) return Result::wrongArgs();
    REQ_TIME(0);
    int64_t d;
    if (!toInt64(a[1], &d)) return Result::badArg("second", "int(compatible)", typeName(a[1]));
    Value out;
    VmError e;
    binaryOp(*vm.impl(), OP_ADD, a[0], Value::integer(d), &out, &e);
    (void)t0;
    return out;
  });
  fn("sub", [](Vm&, Args a) -> Result {
    if (a.size() != 2) return Result::wrongArgs();
    REQ_TIME(0);
    REQ_TIME(1);
    return Value::integer((t0->sec - t1->sec) * 1000000000 + (t0->nsec - t1->nsec));
  });
  fn("add_date", [](Vm&, Args a) -> Result {
    if (a.size() != 4) return Result::wrongArgs();
    REQ_TIME(0);
    int64_t v[3];
    for (size_t k = 0; k < 3; ++k)
      if (!toInt64(a[k + 1], &v[k]))
        return Result::badArg(kArgNames[k + 1], "int(compatible)", typeName(a[k + 1]));
    Civil c = toCivil(*t0);
    // A time that follows a zone stays in it, with the offset in force at the new date.
    if (t0->local || !t0->loc.empty())
      return timeFromCivil(c.year + v[0], c.month + v[1], c.day + v[2], c.hour, c.min, c.sec, c.nsec,
                           t0->local ? "Local" : t0->loc);
    Value r = timeFromCivil(c.year + v[0], c.month + v[1], c.day + v[2], c.hour, c.min, c.sec,
                            c.nsec, "UTC");
    auto* rt = r.as<TimeObj>();
    rt->sec -= t0->offset;
    rt->offset = t0->offset;
    rt->zone = t0->zone;
    rt->local = t0->local;
    return r;
  });
  fn("after", [](Vm&, Args a) -> Result {
    if (a.size() != 2) return Result::wrongArgs();
    REQ_TIME(0);
    REQ_TIME(1);
    return Value::boolean(t0->sec > t1->sec || (t0->sec == t1->sec && t0->nsec > t1->nsec));
  });
  fn("before", [](Vm&, Args a) -> Result {
    if (a.size() != 2) return Result::wrongArgs();
    REQ_TIME(0);
    REQ_TIME(1);
    return Value::boolean(t0->sec < t1->sec || (t0->sec == t1->sec && t0->nsec < t1->nsec));
  });
  fn("time_format", [](Vm&, Args a) -> Result {
    if (a.size() != 2) return Result::wrongArgs();
    REQ_TIME(0);
    std::string layout;
    if (!toStringValue(a[1], &layout)) return Result::badArg("second", "string(compatible)", typeName(a[1]));
    return makeString(goFormatTime(*t0, layout));
  });
  fn("time_location", [](Vm&, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    REQ_TIME(0);
    if (!t0->loc.empty()) return makeString(t0->loc);
    return makeString(t0->local ? "Local" : (t0->zone.empty() ? "" : t0->zone));
  });
  fn("time_string", [](Vm&, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    REQ_TIME(0);
    return makeString(timeString(*t0));
  });
  fn("is_zero", [](Vm&, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    REQ_TIME(0);
    return Value::boolean(t0->sec == -62135596800LL && t0->nsec == 0);
  });
  fn("in_location", [](Vm&, Args a) -> Result {
    if (a.size() != 2) return Result::wrongArgs();
    REQ_TIME(0);
    std::string loc;
    if (!toStringValue(a[1], &loc)) return Result::badArg("second", "string(compatible)", typeName(a[1]));
    if (loc == "UTC" || loc.empty()) return timeWithZone(*t0, "UTC");
    if (!knownLocation(loc)) return makeError(makeString("unknown time zone " + loc));
    return timeWithZone(*t0, loc);
  });
  fn("to_local", [](Vm&, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    REQ_TIME(0);
    return timeWithZone(*t0, "Local");
  });
  fn("to_utc", [](Vm&, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    REQ_TIME(0);
    return timeWithZone(*t0, "UTC");
  });
  // constants
  m["format_ansic"] = makeString("Mon Jan _2 15:04:05 2006");
  m["format_unix_date"] = makeString("Mon Jan _2 15:04:05 MST 2006");
  m["format_ruby_date"] = makeString("Mon Jan 02 15:04:05 -0700 2006");
  m["format_rfc822"] = makeString("02 Jan 06 15:04 MST");
  m["format_rfc822z"] = makeString("02 Jan 06 15:04 -0700");
  m["format_rfc850"] = makeString("Monday, 02-Jan-06 15:04:05 MST");
  m["format_rfc1123"] = makeString("Mon, 02 Jan 2006 15:04:05 MST");
  m["format_rfc1123z"] = makeString("Mon, 02 Jan 2006 15:04:05 -0700");
  m["format_rfc3339"] = makeString("2006-01-02T15:04:05Z07:00");
  m["format_rfc3339_nano"] = makeString("2006-01-02T15:04:05.999999999Z07:00");
  m["format_kitchen"] = makeString("3:04PM");
  m["format_stamp"] = makeString("Jan _2 15:04:05");
  m["format_stamp_milli"] = makeString("Jan _2 15:04:05.000");
  m["format_stamp_micro"] = makeString("Jan _2 15:04:05.000000");
  m["format_stamp_nano"] = makeString("Jan _2 15:04:05.000000000");
  m["nanosecond"] = Value::integer(1);
  m["microsecond"] = Value::integer(1000);
  m["millisecond"] = Value::integer(1000000);
  m["second"] = Value::integer(1000000000);
  m["minute"] = Value::integer(60000000000LL);
  m["hour"] = Value::integer(3600000000000LL);
  static const char* months[] = {"january", "february", "march", "april", "may", "june",
                                 "july", "august", "september", "october", "november",
                                 "december"};
  for (int k = 0; k < 12; ++k) m[months[k]] = Value::integer(k + 1);
}

// RFC3339Nano of a time (used by the corpus runner and json).
std::string timeRfc3339Nano(const TimeObj& t) {
  return goFormatTime(t, "2006-01-02T15:04:05.999999999Z07:00");
}

}  // namespace llmspell::tengo::detail
