// The pure parts of the built-in tools: calculator (including hostile input), JSONPath,
// templates, CSV, HTML to text and command splitting.
#include <gtest/gtest.h>

#include "llmspell/core/convert.hpp"
#include "llmspell/core/error.hpp"
#include "tools/builtins.hpp"

using namespace llmspell;
using namespace llmspell::tools;

namespace {

Error errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Exception& e) {
    return e.error();
  }
  ADD_FAILURE() << "no error";
  return Error();
}

std::string calcErr(std::string_view e) {
  return errorOf([&] { evalExpression(e); }).message;
}

std::string json(const std::vector<Value>& v) {
  return toJsonText(Value::array(v));
}

}  // namespace

TEST(Calculator, Arithmetic) {
  EXPECT_EQ(evalExpression("1 + 2 * 3"), Value(7));
  EXPECT_EQ(evalExpression("(1 + 2) * 3"), Value(9));
  EXPECT_EQ(evalExpression("2 ^ 3 ^ 2"), Value(512));  // right-associative
  EXPECT_EQ(evalExpression("-2 ^ 2"), Value(-4));
  EXPECT_EQ(evalExpression("2 ^ -1"), Value(0.5));
  EXPECT_EQ(evalExpression("7 % 3"), Value(1));
  EXPECT_EQ(evalExpression("-7 % 3"), Value(2));  // sign of the divisor, as in Lua
  EXPECT_EQ(evalExpression("10 / 4"), Value(2.5));
  EXPECT_EQ(evalExpression("--3"), Value(3));
  EXPECT_EQ(evalExpression("1.5e3 + .5"), Value(1500.5));
  EXPECT_TRUE(evalExpression("10 / 4").isDouble());
  EXPECT_TRUE(evalExpression("10 / 5").isInt());
}

TEST(Calculator, FunctionsConstantsVariables) {
  EXPECT_EQ(evalExpression("sqrt(16) + abs(-2)"), Value(6));
  EXPECT_EQ(evalExpression("max(1, 5, 3) - min(4, 2)"), Value(3));
  EXPECT_EQ(evalExpression("floor(2.7) + ceil(2.1) + round(2.5)"), Value(8));
  EXPECT_NEAR(evalExpression("sin(pi / 2)").asNumber(), 1.0, 1e-12);
  EXPECT_NEAR(evalExpression("log(e)").asNumber(), 1.0, 1e-12);
  EXPECT_NEAR(evalExpression("log(8, 2)").asNumber(), 3.0, 1e-12);
  EXPECT_NEAR(evalExpression("exp(0) + cos(0) + tan(0)").asNumber(), 2.0, 1e-12);
  EXPECT_EQ(evalExpression("x * y + 1", Value::object({{"x", 3}, {"y", 4}})), Value(13));
}

TEST(Calculator, Comparisons) {
  EXPECT_EQ(evalExpression("1 + 1 == 2"), Value(true));
  EXPECT_EQ(evalExpression("3 < 2"), Value(false));
  EXPECT_EQ(evalExpression("2 >= 2"), Value(true));
  EXPECT_EQ(evalExpression("2 != 2"), Value(false));
}

TEST(Calculator, ErrorsNamePosition) {
  EXPECT_EQ(calcErr("1 / 0"), "calculator: division by zero at position 3");
  EXPECT_EQ(calcErr("1 +"), "calculator: unexpected end of expression at position 4");
  EXPECT_EQ(calcErr("(1 + 2"), "calculator: unclosed '(' at position 1");
  EXPECT_EQ(calcErr("2 $ 3"), "calculator: unexpected '$' at position 3");
  EXPECT_EQ(calcErr("foo(1)"),
            "calculator: unknown function 'foo' (known: sqrt abs min max floor ceil round log "
            "log10 log2 exp sin cos tan) at position 1");
  EXPECT_EQ(calcErr("bar + 1"), "calculator: unknown name 'bar' at position 1");
  EXPECT_EQ(calcErr("sqrt(-1)"), "calculator: sqrt() of a negative number at position 1");
  EXPECT_EQ(calcErr("sqrt(1, 2)"), "calculator: sqrt() takes 1 argument, got 2 at position 1");
  EXPECT_EQ(calcErr("2 ** 3"),
            "calculator: '**' is not an operator; use '^' for powers at position 3");
  EXPECT_EQ(calcErr(""), "calculator: empty expression at position 1");
  EXPECT_EQ(calcErr("1..2"), "calculator: malformed number '1..2' at position 1");
  EXPECT_EQ(errorOf([] { evalExpression("1/0"); }).code, "invalid_argument");
}

TEST(Calculator, HostileInput) {
  // Deep nesting is refused, not a stack overflow.
  std::string deep(5000, '(');
  deep += "1";
  EXPECT_NE(calcErr(deep).find("nested too deeply"), std::string::npos);
  std::string minus(5000, '-');
  EXPECT_NE(calcErr(minus + "1").find("nested too deeply"), std::string::npos);
  // Huge numbers and overflowing results.
  EXPECT_NE(calcErr("1e400").find("number too large"), std::string::npos);
  EXPECT_NE(calcErr("10 ^ 400").find("number too large"), std::string::npos);
  EXPECT_NE(calcErr("1e308 * 10").find("number too large"), std::string::npos);
  EXPECT_NE(calcErr(std::string(400, '9')).find("number too large"), std::string::npos);
  // Garbage and code.
  EXPECT_NE(calcErr("os.exit(1)").find("unknown name 'os'"), std::string::npos);
  EXPECT_NE(calcErr("load('x')").find("unexpected '''"), std::string::npos);
  EXPECT_NE(calcErr("\x01\xff").find("unexpected"), std::string::npos);
  EXPECT_NE(calcErr(std::string(20000, '1')).find("longer than"), std::string::npos);
  // Reasonable nesting still works.
  std::string ok(50, '(');
  ok += "2";
  ok += std::string(50, ')');
  EXPECT_EQ(evalExpression(ok), Value(2));
}

TEST(JsonQuery, Basics) {
  Value doc = parseJson(R"({"store":{"book":[{"title":"A","price":8,"tags":["x"]},
    {"title":"B","price":12},{"title":"C","price":22,"isbn":"1"}],"bike":{"price":19}},"o.k":1})");
  EXPECT_EQ(json(jsonQuery(doc, "$.store.book[0].title")), R"(["A"])");
  EXPECT_EQ(json(jsonQuery(doc, "$['store']['book'][-1].title")), R"(["C"])");
  EXPECT_EQ(json(jsonQuery(doc, "$.store.book[*].price")), "[8,12,22]");
  EXPECT_EQ(json(jsonQuery(doc, "$..price")), "[8,12,22,19]");
  EXPECT_EQ(json(jsonQuery(doc, "$.store.book[0:2].title")), R"(["A","B"])");
  EXPECT_EQ(json(jsonQuery(doc, "$.store.book[0,2].title")), R"(["A","C"])");
  EXPECT_EQ(json(jsonQuery(doc, "$[\"o.k\"]")), "[1]");
  EXPECT_EQ(json(jsonQuery(doc, "$.nothing.here")), "[]");
  EXPECT_EQ(jsonQuery(doc, "$").size(), 1u);
}

TEST(JsonQuery, Filters) {
  Value doc = parseJson(R"({"book":[{"title":"A","price":8},{"title":"B","price":12},
    {"title":"C","price":22,"isbn":"1"}]})");
  EXPECT_EQ(json(jsonQuery(doc, "$.book[?(@.price > 10)].title")), R"(["B","C"])");
  EXPECT_EQ(json(jsonQuery(doc, "$.book[?(@.price > 10 && @.price < 20)].title")), R"(["B"])");
  EXPECT_EQ(json(jsonQuery(doc, "$.book[?(@.title == 'A' || @.isbn)].title")), R"(["A","C"])");
  EXPECT_EQ(json(jsonQuery(doc, "$.book[?(!@.isbn)].title")), R"(["A","B"])");
  EXPECT_EQ(json(jsonQuery(doc, "$..[?(@.price >= 22)].title")), R"(["C"])");
}

TEST(JsonQuery, Errors) {
  Value doc = parseJson("{}");
  EXPECT_EQ(errorOf([&] { jsonQuery(doc, "store"); }).message,
            "json_query: a path starts with '$' at position 1 of 'store'");
  EXPECT_EQ(errorOf([&] { jsonQuery(doc, "$.a[1"); }).message,
            "json_query: missing ']' at position 6 of '$.a[1'");
  EXPECT_EQ(errorOf([&] { jsonQuery(doc, "$.a[?(@.x >)]"); }).code, "invalid_argument");
  EXPECT_EQ(errorOf([&] { jsonQuery(doc, "$['a"); }).message,
            "json_query: unterminated string at position 5 of '$['a'");
  std::string deep = "$";
  for (int i = 0; i < 300; ++i) deep += ".a";
  EXPECT_EQ(errorOf([&] { jsonQuery(doc, deep); }).code, "invalid_argument");
}

TEST(Template, Substitution) {
  Value vars =
      parseJson(R"({"name":"Ada","user":{"langs":["en","fr"],"age":36},"pi":3.5,"ok":true})");
  EXPECT_EQ(renderTemplate("Hi {{name}}!", vars), "Hi Ada!");
  EXPECT_EQ(renderTemplate("{{ user.age }} {{user.langs.2}} {{pi}} {{ok}}", vars),
            "36 fr 3.5 true");
  EXPECT_EQ(renderTemplate("{{user.langs}}", vars), R"(["en","fr"])");
  EXPECT_EQ(renderTemplate(R"(\{{name}} {{name}})", vars), "{{name}} Ada");
  EXPECT_EQ(renderTemplate("a{{missing}}b", vars, "empty"), "ab");
  EXPECT_EQ(renderTemplate("a{{missing}}b", vars, "keep"), "a{{missing}}b");
  EXPECT_EQ(errorOf([&] { renderTemplate("a{{missing.x}}b", vars); }).message,
            "text_template: no value for '{{missing.x}}'");
  EXPECT_EQ(errorOf([&] { renderTemplate("a{{name", vars); }).message,
            "text_template: '{{' at position 2 has no closing '}}'");
  EXPECT_EQ(errorOf([&] { renderTemplate("{{}}", vars); }).code, "invalid_argument");
}

TEST(Csv, Rfc4180) {
  auto rows = parseCsv("a,b,c\r\n1,\"x, y\",\"he said \"\"hi\"\"\"\n2,\"multi\nline\",\n");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{"1", "x, y", "he said \"hi\""}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"2", "multi\nline", ""}));
  EXPECT_EQ(parseCsv("x;y\n", ';')[0], (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(parseCsv("\xEF\xBB\xBFh\n1").size(), 2u);
  EXPECT_EQ(parseCsv("").size(), 0u);
  EXPECT_EQ(parseCsv("a,b\n\n1,2\n").size(), 2u);  // blank lines skipped
}

TEST(Csv, Errors) {
  EXPECT_EQ(errorOf([] { parseCsv("a,\"b\n1,2\n"); }).message,
            "csv_parse: the quoted field opened on line 1 is never closed");
  EXPECT_EQ(errorOf([] { parseCsv("a,b\"c\n"); }).code, "invalid_argument");
  EXPECT_EQ(errorOf([] { parseCsv("\"a\"b,c\n"); }).message,
            "csv_parse: unexpected 'b' after a closing quote on line 1");
}

TEST(Html, ToText) {
  std::string title;
  std::string text = htmlToText(
      "<html><head><title> My  Page </title><style>p{color:red}</style>"
      "<script>alert('<p>x</p>')</script></head><body><h1>Hello &amp; welcome</h1>"
      "<p>A&nbsp;&lt;b&gt; <b>bold</b>\n   word &#169; &#x263A;</p><!-- hidden "
      "--><ul><li>one</li><li>two</li></ul>"
      "</body></html>",
      &title);
  EXPECT_EQ(title, "My Page");
  EXPECT_EQ(text, "Hello & welcome\nA <b> bold word \xC2\xA9 \xE2\x98\xBA\none\ntwo");
}

TEST(Shell, SplitCommand) {
  EXPECT_EQ(splitCommand("echo 'a b' \"c \\\"d\\\"\" e\\ f"),
            (std::vector<std::string>{"echo", "a b", "c \"d\"", "e f"}));
  EXPECT_EQ(splitCommand("  ls   -l "), (std::vector<std::string>{"ls", "-l"}));
  EXPECT_EQ(errorOf([] { splitCommand("echo 'x"); }).code, "invalid_argument");
}

// Random garbage never crashes a parser: each call returns or throws Exception (ASan builds
// check the memory side).
TEST(Hostile, RandomInputOnlyThrowsExceptions) {
  uint64_t seed = 0x9E3779B97F4A7C15ull;
  auto next = [&] {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
  };
  const std::string alphabet = "0123456789+-*/%^()., <>=!&|?@$[]'\"{}:;\\\n\r\tabcxyzpie_\x01\xff";
  auto garbage = [&](size_t maxLen) {
    std::string s;
    size_t n = next() % maxLen;
    for (size_t i = 0; i < n; ++i) s += alphabet[next() % alphabet.size()];
    return s;
  };
  Value doc = parseJson(R"({"a":[1,{"b":2,"c":[3,4]}],"d":{"e":"f"}})");
  Value vars = parseJson(R"({"a":{"b":[1,2]},"c":"d"})");
  int threw = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string g = garbage(64);
    auto attempt = [&](const std::function<void()>& f) {
      try {
        f();
      } catch (const Exception&) {
        ++threw;
      }
    };
    attempt([&] { evalExpression(g); });
    attempt([&] { jsonQuery(doc, "$" + g); });
    attempt([&] { renderTemplate("{{" + g + "}} " + g, vars, "keep"); });
    attempt([&] { parseCsv(g); });
    attempt([&] { htmlToText("<" + g + ">" + g); });
    attempt([&] { splitCommand(g); });
  }
  EXPECT_GT(threw, 1000);  // most garbage is refused, with an Exception
}
