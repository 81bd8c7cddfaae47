// The event bus: pattern compilation and matching, copy-on-write subscription tables, delivery
// to loops, recording, replay and statistics.
#include "llmspell/events/bus.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "llmspell/core/convert.hpp"
#include "llmspell/core/error.hpp"
#include "llmspell/core/log.hpp"

namespace llmspell {

namespace {

double wallNow() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string secondsText(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%gs", s);
  return buf;
}

bool badChar(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\0';
}

// Splits on '.' into views; returns false for an empty segment.
template <typename Out>
bool splitDots(std::string_view s, Out& out) {
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string_view seg = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    if (seg.empty()) return false;
    out.push_back(seg);
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

}  // namespace

void validateEventName(std::string_view name) {
  if (name.empty()) fail(codes::kInvalidArgument, "event name is empty");
  for (char c : name) {
    if (c == '*')
      fail(codes::kInvalidArgument, "event name '" + std::string(name) +
                                        "' contains '*': wildcards belong in patterns, not names");
    if (badChar(c))
      fail(codes::kInvalidArgument,
           "event name '" + std::string(name) + "' contains whitespace or a control character");
  }
  if (name.front() == '.' || name.back() == '.' || name.find("..") != std::string_view::npos)
    fail(codes::kInvalidArgument, "event name '" + std::string(name) +
                                      "' has an empty segment (names look like 'order.created')");
}

// ---------------------------------------------------------------------------------------------
// Patterns

EventPattern EventPattern::compile(std::string_view pattern) {
  EventPattern p;
  p.text_ = std::string(pattern);
  if (pattern.empty()) fail(codes::kInvalidArgument, "event pattern is empty");
  for (char c : pattern)
    if (badChar(c))
      fail(codes::kInvalidArgument,
           "event pattern '" + p.text_ + "' contains whitespace or a control character");
  std::vector<std::string_view> segs;
  if (!splitDots(pattern, segs))
    fail(codes::kInvalidArgument,
         "event pattern '" + p.text_ + "' has an empty segment (patterns look like 'order.*')");
  bool wild = false;
  for (auto s : segs) {
    Part part;
    if (s == "*") {
      part.kind = Seg::kStar;
      wild = true;
    } else if (s == "**") {
      part.kind = Seg::kGlobstar;
      wild = true;
    } else {
      if (s.find('*') != std::string_view::npos)
        fail(codes::kInvalidArgument, "event pattern '" + p.text_ + "': '" + std::string(s) +
                                          "' mixes '*' with text; '*' and '**' must be whole "
                                          "segments");
      part.kind = Seg::kLiteral;
      part.lit = std::string(s);
    }
    // Consecutive globstars are the same as one.
    if (part.kind == Seg::kGlobstar && !p.parts_.empty() && p.parts_.back().kind == Seg::kGlobstar)
      continue;
    p.parts_.push_back(std::move(part));
  }
  if (!wild) {
    p.shape_ = Shape::kExact;
  } else if (p.parts_.size() == 1 && p.parts_[0].kind == Seg::kGlobstar) {
    p.shape_ = Shape::kAll;
  } else if (p.parts_.back().kind == Seg::kGlobstar &&
             std::all_of(p.parts_.begin(), p.parts_.end() - 1,
                         [](const Part& x) { return x.kind == Seg::kLiteral; })) {
    p.shape_ = Shape::kPrefix;
    for (size_t i = 0; i + 1 < p.parts_.size(); ++i) {
      if (i) p.prefix_ += '.';
      p.prefix_ += p.parts_[i].lit;
    }
  } else {
    p.shape_ = Shape::kGeneral;
  }
  return p;
}

bool EventPattern::matches(std::string_view name) const {
  switch (shape_) {
    case Shape::kExact: return name == text_;
    case Shape::kAll: return !name.empty();
    case Shape::kPrefix:
      // "a.b.**" matches "a.b" (zero segments) and "a.b.<anything>".
      return name.size() >= prefix_.size() && name.compare(0, prefix_.size(), prefix_) == 0 &&
             (name.size() == prefix_.size() || name[prefix_.size()] == '.');
    case Shape::kGeneral: return matchGeneral(name);
  }
  return false;
}

namespace {
// Whether `name` begins / ends with the whole segment `seg`.
bool startsWithSegment(std::string_view name, std::string_view seg) {
  return name.size() >= seg.size() && name.compare(0, seg.size(), seg) == 0 &&
         (name.size() == seg.size() || name[seg.size()] == '.');
}
bool endsWithSegment(std::string_view name, std::string_view seg) {
  return name.size() >= seg.size() &&
         name.compare(name.size() - seg.size(), seg.size(), seg) == 0 &&
         (name.size() == seg.size() || name[name.size() - seg.size() - 1] == '.');
}
}  // namespace

bool EventPattern::matchGeneral(std::string_view name) const {
  // Cheap rejections before splitting: a literal first or last part must be there.
  if (parts_.front().kind == Seg::kLiteral && !startsWithSegment(name, parts_.front().lit))
    return false;
  if (parts_.back().kind == Seg::kLiteral && !endsWithSegment(name, parts_.back().lit))
    return false;
  // Segment views of the name, on the stack for ordinary names.
  struct Segs {
    std::string_view inline_[16];
    std::vector<std::string_view> heap;
    size_t n = 0;
    void push_back(std::string_view s) {
      if (n < 16 && heap.empty()) {
        inline_[n++] = s;
        return;
      }
      if (heap.empty()) heap.assign(inline_, inline_ + n);
      heap.push_back(s);
      ++n;
    }
    std::string_view operator[](size_t i) const { return heap.empty() ? inline_[i] : heap[i]; }
  } segs;
  if (!splitDots(name, segs)) return false;
  // Classic wildcard matching with one backtrack point: `**` is "any run of segments", `*` is
  // "exactly one segment", a literal is one equal segment. Linear in practice.
  size_t i = 0, j = 0;                 // i: name segment, j: pattern part
  size_t starJ = SIZE_MAX, starI = 0;  // last globstar seen and where it began matching
  const size_t n = segs.n, m = parts_.size();
  while (i < n) {
    if (j < m && parts_[j].kind == Seg::kGlobstar) {
      starJ = j++;
      starI = i;
    } else if (j < m && (parts_[j].kind == Seg::kStar || parts_[j].lit == segs[i])) {
      ++i;
      ++j;
    } else if (starJ != SIZE_MAX) {
      j = starJ + 1;
      i = ++starI;
    } else {
      return false;
    }
  }
  while (j < m && parts_[j].kind == Seg::kGlobstar) ++j;
  return j == m;
}

// ---------------------------------------------------------------------------------------------
// Events

Value Event::toValue() const {
  Value v = Value::object(
      {{"name", name}, {"data", data}, {"ts", ts}, {"seq", static_cast<int64_t>(seq)}});
  if (!traceId.empty()) v.asObject().set("trace_id", traceId);
  return v;
}

void EventBus::setTraceId(std::string id) {
  std::lock_guard lk(mu_);
  traceId_ = std::move(id);
}

std::string EventBus::traceId() const {
  std::lock_guard lk(mu_);
  return traceId_;
}

struct EventBus::Sub {
  uint64_t id = 0;
  EventPattern pattern;
  Callback cb;
  Loop* loop = nullptr;
  bool once = false;
  std::atomic<bool> active{true};
};

// An immutable view of the subscriptions: exact names in a hash map, the rest in a list.
// emit() takes a reference under the lock and matches without it.
struct EventBus::Table {
  std::unordered_map<std::string, std::vector<SubPtr>> exact;
  std::vector<SubPtr> wild;
};

struct EventBus::Recorder {
  std::mutex mu;
  std::FILE* f = nullptr;
  uint64_t subId = 0;
  ~Recorder() {
    if (f) std::fclose(f);
  }
};

EventBus::EventBus() : EventBus(wallNow) {}

EventBus::EventBus(Clock clock) : clock_(std::move(clock)) {
  table_ = std::make_shared<Table>();
}

EventBus::~EventBus() {
  std::lock_guard lk(mu_);
  for (auto& s : subs_) s->active = false;
}

EventBus& EventBus::global() {
  // Leaked on purpose: other static objects may emit during shutdown.
  static EventBus* bus = new EventBus();
  return *bus;
}

void EventBus::rebuildLocked() {
  auto t = std::make_shared<Table>();
  for (const auto& s : subs_) {
    if (s->pattern.exact())
      t->exact[s->pattern.text()].push_back(s);
    else
      t->wild.push_back(s);
  }
  table_ = std::move(t);
}

uint64_t EventBus::subscribe(std::string_view pattern, Callback cb, Loop* loop, bool once) {
  if (!cb) fail(codes::kInvalidArgument, "event subscription needs a callback");
  auto s = std::make_shared<Sub>();
  s->pattern = EventPattern::compile(pattern);
  s->cb = std::move(cb);
  s->loop = loop;
  s->once = once;
  s->id = nextId_.fetch_add(1);
  std::lock_guard lk(mu_);
  subs_.push_back(s);
  rebuildLocked();
  return s->id;
}

bool EventBus::off(uint64_t id) {
  std::lock_guard lk(mu_);
  auto it = std::find_if(subs_.begin(), subs_.end(), [&](const SubPtr& s) { return s->id == id; });
  if (it == subs_.end()) return false;
  (*it)->active = false;
  subs_.erase(it);
  rebuildLocked();
  return true;
}

size_t EventBus::subscriberCount() const {
  std::lock_guard lk(mu_);
  return subs_.size();
}

void EventBus::deliver(const SubPtr& s, const Event& e) {
  if (s->once) {
    bool expected = true;
    if (!s->active.compare_exchange_strong(expected, false)) return;
    off(s->id);
  } else if (!s->active.load()) {
    return;
  }
  auto invoke = [this](const SubPtr& sub, const Event& ev) {
    try {
      sub->cb(ev);
    } catch (const std::exception& ex) {
      errors_.fetch_add(1);
      logMessage(LogLevel::kWarn, "event subscriber failed",
                 Value::object({{"event", ev.name},
                                {"pattern", sub->pattern.text()},
                                {"error", std::string(ex.what())}}));
    } catch (...) {
      errors_.fetch_add(1);
    }
  };
  if (!s->loop || s->loop->inLoopThread()) {
    invoke(s, e);
    return;
  }
  // Another thread: hand the loop its own copy of the data.
  Event copy{e.name, e.data.deepCopy(), e.ts, e.seq, e.traceId};
  s->loop->post([s, copy = std::move(copy), invoke] {
    // A once-subscription was claimed above; others may have been removed since.
    if (!s->once && !s->active.load()) return;
    invoke(s, copy);
  });
}

uint64_t EventBus::emit(std::string_view name, Value data) {
  validateEventName(name);
  Event e;
  e.name = std::string(name);
  e.data = std::move(data);
  e.ts = clock_();
  e.seq = seq_.fetch_add(1) + 1;
  countEvent(e.name, e.ts);
  std::shared_ptr<const Table> t;
  {
    std::lock_guard lk(mu_);
    t = table_;
    e.traceId = traceId_;
  }
  // Deliver in subscription order: merge the exact list and the matching wild ones by id.
  const std::vector<SubPtr>* exact = nullptr;
  if (auto it = t->exact.find(e.name); it != t->exact.end()) exact = &it->second;
  size_t xi = 0;
  for (const auto& s : t->wild) {
    if (!s->pattern.matches(e.name)) continue;
    while (exact && xi < exact->size() && (*exact)[xi]->id < s->id) deliver((*exact)[xi++], e);
    deliver(s, e);
  }
  while (exact && xi < exact->size()) deliver((*exact)[xi++], e);
  return e.seq;
}

PromisePtr EventBus::wait(Loop& loop, std::string_view pattern, double timeoutSeconds) {
  auto p = Promise::create();
  std::weak_ptr<Promise> wp = p;
  std::string pat(pattern);
  uint64_t id = subscribe(
      pattern,
      [wp](const Event& e) {
        if (auto q = wp.lock()) q->resolve(e.toValue());
      },
      &loop, /*once=*/true);
  Loop::TimerHandle timer;
  if (timeoutSeconds > 0) {
    timer = loop.setTimeout(timeoutSeconds, [this, wp, id, pat, timeoutSeconds] {
      off(id);
      if (auto q = wp.lock())
        q->reject(Error(codes::kTimeout,
                        "no event matching '" + pat + "' within " + secondsText(timeoutSeconds),
                        true));
    });
  }
  p->setCanceller([this, id, timer]() mutable {
    timer.cancel();
    off(id);
  });
  p->onSettle([this, id, timer](const Promise&) mutable {
    timer.cancel();
    off(id);
  });
  return p;
}

// ---------------------------------------------------------------------------------------------
// Recording and replay

uint64_t EventBus::startRecording(const std::string& path, std::string_view filter) {
  EventPattern::compile(filter);  // validate before opening
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    fail(codes::kInvalidArgument,
         "cannot open '" + path + "' for recording events: " + std::string(std::strerror(errno)));
  return startRecording(fd, filter);
}

uint64_t EventBus::startRecording(int fd, std::string_view filter) {
  auto rec = std::make_shared<Recorder>();
  rec->f = ::fdopen(fd, "a");
  if (!rec->f) {
    ::close(fd);
    fail(codes::kInternal, "cannot record events: " + std::string(std::strerror(errno)));
  }
  try {
    EventPattern::compile(filter);
  } catch (...) {
    std::fclose(rec->f);
    rec->f = nullptr;
    throw;
  }
  std::weak_ptr<Recorder> wr = rec;
  uint64_t id = subscribe(filter, [wr](const Event& e) {
    auto r = wr.lock();
    if (!r) return;
    nlohmann::ordered_json j;
    j["ts"] = e.ts;
    j["seq"] = e.seq;
    if (!e.traceId.empty()) j["trace_id"] = e.traceId;
    j["name"] = e.name;
    try {
      j["data"] = toJson(e.data);
    } catch (const Exception&) {
      j["data"] = nullptr;
      j["unserializable"] = true;
    }
    std::string line = redactSecrets(j.dump());
    line += '\n';
    std::lock_guard lk(r->mu);
    if (!r->f) return;
    std::fwrite(line.data(), 1, line.size(), r->f);
    std::fflush(r->f);
  });
  rec->subId = id;
  std::lock_guard lk(mu_);
  recorders_[id] = rec;
  return id;
}

bool EventBus::stopRecording(uint64_t id) {
  std::shared_ptr<Recorder> rec;
  {
    std::lock_guard lk(mu_);
    auto it = recorders_.find(id);
    if (it == recorders_.end()) return false;
    rec = it->second;
    recorders_.erase(it);
  }
  off(rec->subId);
  std::lock_guard lk(rec->mu);
  if (rec->f) std::fclose(rec->f);
  rec->f = nullptr;
  return true;
}

namespace {
struct ReplayState {
  std::vector<Value> events;  // {name, data, ts}
  size_t next = 0;
  double speed = 1;
  Loop::TimerHandle timer;
  bool stopped = false;
  PromisePtr out;
};
}  // namespace

PromisePtr EventBus::replay(Loop& loop, const std::string& path, double speed,
                            std::string_view filter) {
  auto pat = EventPattern::compile(filter);  // validate before opening
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return Promise::rejected(Error(codes::kInvalidArgument,
                                   "cannot open recording '" + path + "': " + std::string(std::strerror(errno))));
  return replay(loop, fd, path, speed, filter);
}

PromisePtr EventBus::replay(Loop& loop, int fd, const std::string& path, double speed,
                            std::string_view filter) {
  std::shared_ptr<FILE> file(::fdopen(fd, "r"), [](FILE* f) {
    if (f) std::fclose(f);
  });
  if (!file) {
    ::close(fd);
    fail(codes::kInternal, "cannot read recording '" + path + "': " + std::string(std::strerror(errno)));
  }
  auto pat = std::make_shared<EventPattern>(EventPattern::compile(filter));
  auto out = Promise::create();
  auto st = std::make_shared<ReplayState>();
  st->speed = speed;
  st->out = out;
  PromisePtr read = loop.runBlocking([path, pat, file]() -> Value {
    std::vector<Value> evs;
    std::string line;
    size_t lineNo = 0;
    struct LineBuf {
      char* p = nullptr;
      size_t cap = 0;
      ~LineBuf() { std::free(p); }
    } lb;
    for (ssize_t n; (n = ::getline(&lb.p, &lb.cap, file.get())) >= 0;) {
      line.assign(lb.p, static_cast<size_t>(n));
      if (!line.empty() && line.back() == '\n') line.pop_back();
      ++lineNo;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      Value v;
      try {
        v = parseJson(line);
      } catch (const Exception& e) {
        fail(codes::kInvalidArgument,
             path + ":" + std::to_string(lineNo) + ": not a recorded event: " + e.error().message);
      }
      if (!v.isObject() || !v.get("name").isString() || !v.get("ts").isNumber())
        fail(codes::kInvalidArgument,
             path + ":" + std::to_string(lineNo) + ": a recorded event needs 'name' and 'ts'");
      if (!pat->matches(v.get("name").asString())) continue;
      evs.push_back(std::move(v));
    }
    return Value::array(std::move(evs));
  });
  // The step function emits every event that is due, then sleeps until the next one.
  auto step = std::make_shared<std::function<void()>>();
  std::weak_ptr<std::function<void()>> wstep = step;
  *step = [this, st, &loop, wstep] {
    while (!st->stopped && st->next < st->events.size()) {
      const Value& ev = st->events[st->next];
      try {
        emit(ev.get("name").asString(), ev.get("data"));
      } catch (const Exception& e) {
        st->stopped = true;
        st->out->reject(e.error());
        return;
      }
      ++st->next;
      if (st->next == st->events.size()) break;
      double gap = st->events[st->next].getNumber("ts") - ev.getNumber("ts");
      if (st->speed > 0 && gap > 0) {
        auto self = wstep.lock();
        if (!self) return;
        st->timer = loop.setTimeout(gap / st->speed, [self] { (*self)(); });
        return;
      }
    }
    if (!st->stopped) st->out->resolve(Value(static_cast<int64_t>(st->next)));
  };
  read->onSettle([st, step](const Promise& r) {
    if (st->stopped) return;
    if (r.rejected()) {
      st->out->reject(r.error());
      return;
    }
    st->events = r.value().asArray().items();
    (*step)();
  });
  out->setCanceller([st, read] {
    st->stopped = true;
    st->timer.cancel();
  });
  // Keep the step function alive until the replay settles (the timer holds it too).
  out->onSettle([step](const Promise&) {});
  return out;
}

// ---------------------------------------------------------------------------------------------
// Statistics

void EventBus::countEvent(const std::string& name, double ts) {
  std::lock_guard lk(statsMu_);
  ++totals_[name];
  uint32_t id;
  auto it = nameIds_.find(name);
  if (it == nameIds_.end()) {
    id = static_cast<uint32_t>(names_.size());
    names_.push_back(name);
    nameIds_.emplace(name, id);
  } else {
    id = it->second;
  }
  if (hist_.size() < kHistory) {
    hist_.push_back({ts, id});
  } else {
    hist_[histHead_] = {ts, id};
    histHead_ = (histHead_ + 1) % kHistory;
  }
}

Value EventBus::stats(std::string_view pattern, double windowSeconds) const {
  auto pat = EventPattern::compile(pattern);
  if (!(windowSeconds > 0)) windowSeconds = 60;
  double now = clock_();
  double from = now - windowSeconds;
  std::lock_guard lk(statsMu_);
  // Which interned names match (checked once per name, not per event).
  std::vector<char> matchId(names_.size(), 0);
  for (size_t i = 0; i < names_.size(); ++i) matchId[i] = pat.matches(names_[i]) ? 1 : 0;
  std::vector<uint64_t> inWindow(names_.size(), 0);
  size_t n = hist_.size();
  for (size_t k = 0; k < n; ++k) {
    // Newest first: the entry before histHead_ is the newest once the ring is full.
    size_t idx = (histHead_ + n - 1 - k) % n;
    const Hist& h = hist_[idx];
    if (h.ts < from) break;
    if (matchId[h.name]) ++inWindow[h.name];
  }
  uint64_t total = 0, windowTotal = 0;
  Value names = Value::object();
  for (size_t i = 0; i < names_.size(); ++i) {
    if (!matchId[i]) continue;
    uint64_t c = totals_.at(names_[i]);
    total += c;
    windowTotal += inWindow[i];
    names.asObject().set(
        names_[i], Value::object({{"count", static_cast<int64_t>(c)},
                                  {"window_count", static_cast<int64_t>(inWindow[i])},
                                  {"rate", static_cast<double>(inWindow[i]) / windowSeconds}}));
  }
  return Value::object({{"pattern", pat.text()},
                        {"count", static_cast<int64_t>(total)},
                        {"window", windowSeconds},
                        {"window_count", static_cast<int64_t>(windowTotal)},
                        {"rate", static_cast<double>(windowTotal) / windowSeconds},
                        {"names", names}});
}

}  // namespace llmspell
