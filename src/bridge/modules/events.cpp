// `events` namespace: the script face of EventBus. Subscriptions and recordings belong to the
// run and are removed when it ends; script handlers run on the run's loop.
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <unordered_set>

#include "llmspell/bridge/registry.hpp"
#include "llmspell/core/log.hpp"
#include "llmspell/core/safe_fs.hpp"
#include "llmspell/events/bus.hpp"

namespace llmspell {

namespace {

// What a run has attached to the bus; detached when the run context goes away.
struct EventsRun {
  EventBus* bus = nullptr;
  std::unordered_set<uint64_t> subs;
  std::vector<uint64_t> recordings;
  ~EventsRun() {
    if (!bus) return;
    for (auto id : subs) bus->off(id);
    for (auto id : recordings) bus->stopRecording(id);
  }
};

// A recording file, opened through the O_NOFOLLOW walk. Only regular files: O_NONBLOCK keeps a
// FIFO from hanging the open (it would wait for the other end, past the spell's limits), and
// the file is then refused; the fd is returned blocking.
safefs::Fd openRegular(std::string_view fname, const safefs::Target& t, int flags) {
  safefs::Fd fd = safefs::open(fname, t, flags | O_NONBLOCK);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) safefs::failErrno(fname, t.shown, errno);
  if (!S_ISREG(st.st_mode))
    fail(codes::kInvalidArgument,
         std::string(fname) + ": " + t.shown + " is not a regular file (a device, FIFO or socket)");
  ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  return fd;
}

EventsRun& eventsRun(RunContext& run) {
  auto& er = run.service<EventsRun>([] { return std::make_shared<EventsRun>(); });
  if (!er.bus) er.bus = &busFor(run);
  return er;
}

uint64_t subscribeScript(CallContext& cx, const Value& pattern, const Value& fn, bool once) {
  auto& er = eventsRun(cx.run);
  FunctionPtr f = fn.asFunction();
  std::string pat = pattern.asString();
  auto ids = std::make_shared<uint64_t>(0);
  EventsRun* erp = &er;
  uint64_t id = er.bus->subscribe(
      pat,
      [f, pat, once, ids, erp](const Event& e) {
        if (once) erp->subs.erase(*ids);
        PromisePtr p = f->call({e.toValue()});
        // A failing handler is reported, never passed on to the emitter or other handlers.
        p->onSettle([pat, name = e.name](const Promise& q) {
          if (q.rejected())
            logMessage(LogLevel::kWarn, "event handler failed",
                       Value::object(
                           {{"pattern", pat}, {"event", name}, {"error", q.error().toString()}}));
        });
      },
      &cx.loop, once);
  *ids = id;
  er.subs.insert(id);
  return id;
}

}  // namespace

void llmspell_register_events(Registry& r) {
  r.fn("events", "emit")
      .param("name", R"({"type":"string"})", "dotted name, e.g. \"order.created\"")
      .opt("data", R"({})", "any value (JSON-compatible when recorded)")
      .returns("the event's sequence number")
      .doc(
          "Emits an event to every matching subscriber (handlers on this loop run before emit "
          "returns)")
      .sync([](CallContext& cx, Args a) -> Value {
        return Value(static_cast<int64_t>(eventsRun(cx.run).bus->emit(a[0].asString(), a[1])));
      });
  r.fn("events", "on")
      .param("pattern", R"({"type":"string"})", "`*` matches one segment, `**` any number")
      .param("fn", R"({"type":"function"})", "called with {name, data, ts, seq}")
      .returns("subscription id for events.off")
      .doc("Subscribes to events matching a pattern")
      .sync([](CallContext& cx, Args a) -> Value {
        return Value(static_cast<int64_t>(subscribeScript(cx, a[0], a[1], false)));
      });
  r.fn("events", "once")
      .param("pattern", R"({"type":"string"})")
      .param("fn", R"({"type":"function"})")
      .returns("subscription id")
      .doc("Subscribes for the next matching event only")
      .sync([](CallContext& cx, Args a) -> Value {
        return Value(static_cast<int64_t>(subscribeScript(cx, a[0], a[1], true)));
      });
  r.fn("events", "off")
      .param("id", R"({"type":"integer"})")
      .returns("true when the subscription existed")
      .doc("Removes a subscription")
      .sync([](CallContext& cx, Args a) -> Value {
        auto& er = eventsRun(cx.run);
        auto id = static_cast<uint64_t>(a[0].asInt());
        // Only this run's subscriptions: one spell cannot remove another's.
        if (!er.subs.erase(id)) return Value(false);
        return Value(er.bus->off(id));
      });
  r.fn("events", "wait")
      .param("pattern", R"({"type":"string"})")
      .opt("opts", R"({"type":"object","properties":{"timeout":{"type":"number"}}})",
           "timeout in seconds (default: wait forever)")
      .returns("the event {name, data, ts, seq}")
      .doc("Waits for the next event matching a pattern; fails with `timeout`")
      .async([](CallContext& cx, Args a) -> PromisePtr {
        return eventsRun(cx.run).bus->wait(cx.loop, a[0].asString(), a[1].getNumber("timeout"));
      });
  r.fn("events", "record")
      .param("path", R"({"type":"string"})", "JSON Lines file, appended to")
      .opt("opts", R"({"type":"object","properties":{"filter":{"type":"string"}}})",
           "filter: a pattern (default \"**\")")
      .permission(Permission::kWrite)
      .returns("recording id")
      .doc("Records events to a JSON Lines file until events.stop_recording")
      .sync([](CallContext& cx, Args a) -> Value {
        safefs::Target t = safefs::forWrite(cx.run.permissions(), a[0].asString());
        auto& er = eventsRun(cx.run);
        std::string filter = a[1].getString("filter", "**");
        EventPattern::compile(filter);  // validate before creating the file
        uint64_t id = er.bus->startRecording(
            openRegular("events.record", t, O_WRONLY | O_APPEND | O_CREAT).release(), filter);
        er.recordings.push_back(id);
        return Value(static_cast<int64_t>(id));
      });
  r.fn("events", "stop_recording")
      .opt("id", R"({"type":"integer"})", "one recording; omit to stop all of this spell's")
      .returns("the number of recordings stopped")
      .doc("Stops recording")
      .sync([](CallContext& cx, Args a) -> Value {
        auto& er = eventsRun(cx.run);
        int64_t n = 0;
        std::vector<uint64_t> keep;
        for (auto id : er.recordings) {
          if (a[0].isNull() || static_cast<uint64_t>(a[0].asInt()) == id) {
            if (er.bus->stopRecording(id)) ++n;
          } else {
            keep.push_back(id);
          }
        }
        er.recordings = std::move(keep);
        return Value(n);
      });
  r.fn("events", "replay")
      .param("path", R"({"type":"string"})")
      .opt(
          "opts",
          R"({"type":"object","properties":{"speed":{"type":"number"},"filter":{"type":"string"}}})",
          "speed: 1 = as recorded, 2 = twice as fast, 0 = no pauses; filter: a pattern")
      .permission(Permission::kRead)
      .returns("the number of events re-emitted")
      .doc("Re-emits a recording, keeping its timing")
      .async([](CallContext& cx, Args a) -> PromisePtr {
        safefs::Target t = safefs::forRead(cx.run.permissions(), a[0].asString());
        double speed = a[1].get("speed").isNumber() ? a[1].getNumber("speed") : 1.0;
        std::string filter = a[1].getString("filter", "**");
        EventPattern::compile(filter);
        return eventsRun(cx.run).bus->replay(cx.loop, openRegular("events.replay", t, O_RDONLY).release(), t.shown,
                                             speed, filter);
      });
  r.fn("events", "stats")
      .opt("pattern", R"({"type":"string","default":"**"})")
      .opt("opts", R"({"type":"object","properties":{"window":{"type":"number"}}})",
           "window in seconds for rates (default 60)")
      .returns("{pattern, count, window, window_count, rate, names = {name = {count, window_count, rate}}}")
      .doc("Counts and rates of events matching a pattern")
      .sync([](CallContext& cx, Args a) -> Value {
        return eventsRun(cx.run).bus->stats(a[0].isString() ? a[0].asString() : "**",
                                            a[1].getNumber("window", 60));
      });
}

}  // namespace llmspell
