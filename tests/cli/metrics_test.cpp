// metrics.prometheus() as Prometheus itself reads it: the text of a spell's counters, gauges and
// histograms (labels needing escapes included) parsed by Debian's python3-prometheus-client, and
// the values it finds compared with what the spell recorded.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../support/cli.hpp"

using namespace llmspell::test;

namespace {

const char* kSpell = R"(
local c = metrics.counter("orders_total", {help = "Orders placed\nby kind", labels = {"kind"}})
c:inc(nil, {kind = "book"})
c:inc(2.5, {kind = "book"})
c:inc(1, {kind = 'say "hi"\\ back\nslash'})
local g = metrics.gauge("queue_depth", {help = "Jobs waiting"})
g:set(5)
g:dec(7)
local h = metrics.histogram("latency_seconds", {help = "Latency", labels = {"route"}, buckets = {0.1, 1, 2.5}})
for _, v in ipairs({0.05, 0.1, 0.5, 3}) do h:observe(v, {route = "/a"}) end
metrics.time("work_seconds", function() sleep(0.001) end)
return metrics.prometheus()
)";

// Parses stdin with prometheus_client and prints one "name{sorted labels} value" line per sample.
const char* kParser = R"(
import sys
from prometheus_client.parser import text_string_to_metric_families
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        labels = ",".join("%s=%s" % (k, v) for k, v in sorted(s.labels.items()))
        print("%s %s{%s} %r" % (fam.type, s.name, labels, s.value))
)";

}  // namespace

TEST(Metrics, PrometheusTextReadsBackInThePrometheusClientParser) {
  if (runShell("/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null").exit != 0)
    GTEST_SKIP() << "Debian's python3-prometheus-client is not installed (scripts/setup.sh installs it)";
  std::string dir = testing::TempDir() + "/metrics_test_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/m.lua") << kSpell;
  std::ofstream(dir + "/parse.py") << kParser;
  CliResult r = runShell(cliPath() + " run " + dir + "/m.lua > " + dir + "/out.txt 2>&1 && /usr/bin/python3 " + dir +
                         "/parse.py < " + dir + "/out.txt 2>&1");
  ASSERT_EQ(r.exit, 0) << r.out;
  for (const char* want : {
           "counter orders_total{kind=book} 3.5",
           "counter orders_total{kind=say \"hi\"\\ back\nslash} 1.0",
           "gauge queue_depth{} -2.0",
           "histogram latency_seconds_bucket{le=0.1,route=/a} 2.0",
           "histogram latency_seconds_bucket{le=1,route=/a} 3.0",
           "histogram latency_seconds_bucket{le=2.5,route=/a} 3.0",
           "histogram latency_seconds_bucket{le=+Inf,route=/a} 4.0",
           "histogram latency_seconds_count{route=/a} 4.0",
           "histogram latency_seconds_sum{route=/a} 3.65",
           "histogram work_seconds_count{} 1.0",
       }) {
    EXPECT_NE(r.out.find(want), std::string::npos) << "missing: " << want << "\nin:\n" << r.out;
  }
  std::filesystem::remove_all(dir);
}

TEST(Metrics, UnboundedLabelValuesStopAtTheSeriesCap) {
  CliResult r = runCli(
      "exec 'local c = metrics.counter(\"hits_total\", {labels = {\"user\"}}) "
      "for i = 1, 5000 do c:inc(1, {user = tostring(i)}) end'",
      "", true);
  EXPECT_EQ(r.exit, 3) << r.out;
  EXPECT_NE(r.out.find("error[limit_exceeded]: metric hits_total has more than 1000 label combinations"), std::string::npos)
      << r.out;
}
