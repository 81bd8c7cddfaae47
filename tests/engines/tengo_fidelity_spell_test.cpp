// Tengo behaviours where Go's Tengo is the reference, through the real binary (issue #11,
// "Tengo fidelity"): float printing, the sign of zero kept from the left operand, named time
// zones from the system's tz database, and the position of a parse error at the end of a file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "support/cli.hpp"

namespace {

using llmspell::test::runCli;
using llmspell::test::shellQuote;

llmspell::test::CliResult tengo(const std::string& code) {
  return runCli("exec --engine tengo " + shellQuote(code));
}

// strconv.FormatFloat(f, 'f', -1, 64): the shortest digits that round-trip, without an exponent,
// wherever a float becomes text; json.encode (llmspell's, shared by every engine) writes the
// shortest digits too, in its own layout (1e+23).
TEST(TengoFidelity, FloatsPrintWithTheShortestDigitsThatRoundTrip) {
  auto r = tengo(
      "fmt := import(\"fmt\")\n"
      "fmt.println(1e23)\n"
      "fmt.println(string(1e23), \" \", 123456789012345678.0, \" \", -2.5e-7, \" \", 0.1)\n"
      "fmt.println([1e23, 1e22], \" \", {a: 1e23})\n"
      "fmt.println(fmt.sprintf(\"%v %v\", [1e23], {b: 1e21}))\n"
      "json := import(\"json\")\n"
      "fmt.println(json.encode(1e23), \" \", json.encode([1e23, 0.1, 4.35]))\n");
  ASSERT_EQ(r.exit, 0) << r.err << r.out;
  EXPECT_EQ(r.out,
            "100000000000000000000000\n"
            "100000000000000000000000 123456789012345680 -0.00000025 0.1\n"
            "[100000000000000000000000, 10000000000000000000000] {a: 100000000000000000000000}\n"
            "[100000000000000000000000] {b: 1000000000000000000000}\n"
            "1e+23 [1e+23,0.1,4.35]\n");
}

// Go Tengo's Float.BinaryOp returns the left operand itself when the result equals it, so the
// left operand's sign of zero survives.
TEST(TengoFidelity, AFloatResultEqualToTheLeftOperandIsTheLeftOperand) {
  auto r = tengo(
      "fmt := import(\"fmt\")\n"
      "fmt.println(0.0 / -28, \" \", -0.0 + 0.0, \" \", 0.0 * -1, \" \", -0.0 - 0.0, \" \", 0.0 - 0.0)\n"
      "x := -0.0\n"
      "x += 0\n"
      "fmt.println(x, \" \", 0 * -1.0, \" \", 1.5 + 0.0)\n");
  ASSERT_EQ(r.exit, 0) << r.err << r.out;
  EXPECT_EQ(r.out, "0 -0 0 -0 0\n-0 -0 1.5\n");
}

// Named zones come from the system's IANA database: offsets and abbreviations follow the rules
// in force at each instant, a wall time in a spring-forward gap resolves as Go's time.Date does,
// and an unknown name is an error value.
TEST(TengoFidelity, NamedTimeZonesComeFromTheSystemDatabase) {
  auto r = tengo(
      "fmt := import(\"fmt\")\n"
      "times := import(\"times\")\n"
      "layout := \"2006-01-02 15:04:05 -0700 MST\"\n"
      "t := times.date(2024, 1, 15, 12, 0, 0, 0, \"Pacific/Auckland\")\n"
      "fmt.println(times.time_format(t, layout), \" \", times.time_unix(t), \" \", times.time_location(t))\n"
      "w := times.in_location(times.date(2024, 7, 1, 0, 0, 0, 0, \"UTC\"), \"Pacific/Auckland\")\n"
      "fmt.println(times.time_format(w, layout), \" \", times.time_location(w))\n"
      "fmt.println(times.time_format(times.add_date(t, 0, 6, 0), layout))\n"
      "fmt.println(times.time_format(t + 180 * 24 * times.hour, layout))\n"
      "g := times.date(2024, 9, 29, 2, 30, 0, 0, \"Pacific/Auckland\")\n"
      "fmt.println(times.time_format(g, layout))\n"
      "fmt.println(times.date(2024, 1, 1, 0, 0, 0, 0, \"Mars/Olympus_Mons\"))\n"
      "fmt.println(times.in_location(t, \"Nowhere/Atlantis\"))\n");
  ASSERT_EQ(r.exit, 0) << r.err << r.out;
  EXPECT_EQ(r.out,
            "2024-01-15 12:00:00 +1300 NZDT 1705273200 Pacific/Auckland\n"
            "2024-07-01 12:00:00 +1200 NZST Pacific/Auckland\n"
            "2024-07-15 12:00:00 +1200 NZST\n"
            "2024-07-13 11:00:00 +1200 NZST\n"
            "2024-09-29 03:30:00 +1300 NZDT\n"
            "error: \"unknown time zone Mars/Olympus_Mons\"\n"
            "error: \"unknown time zone Nowhere/Atlantis\"\n");
}

// A newline at the end of a file starts no line: an error at the end is on the last line with
// text, as Go's token.File reports it (1:10 in the engine's message; the CLI names the line).
TEST(TengoFidelity, AParseErrorAtTheEndOfAFileIsOnItsLastLine) {
  std::string path = testing::TempDir() + "/tengo_eof_" + std::to_string(getpid()) + ".tengo";
  std::ofstream(path) << "a := 1 +\n";
  auto r = runCli("run " + path);
  std::remove(path.c_str());
  EXPECT_NE(r.exit, 0);
  EXPECT_NE(r.err.find(".tengo:1)"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(".tengo:2"), std::string::npos) << r.err;
}

}  // namespace
