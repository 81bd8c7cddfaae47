// The built-in tools and the pure functions behind them (exposed for unit tests).
// Every function here throws Exception with an API.md code on bad input.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "llmspell/core/value.hpp"
#include "llmspell/tools/tools.hpp"

namespace llmspell::tools {

// calculator: evaluates `expr` (numbers, + - * / % ^, parentheses, unary minus/plus, comparisons
// == != < <= > >=, functions sqrt abs min max floor ceil round log exp sin cos tan, constants pi
// and e, and names from `vars`). Returns a number (an integer when the result is integral and
// exact) or a boolean for a comparison. Errors are invalid_argument naming the position.
Value evalExpression(std::string_view expr, const Value& vars = {});

// json_query: the JSONPath subset ($, .key, ['key'], [n], [-n], [a:b], [*], .*, .., [a,b],
// filters [?(@.x > 1 && @.y == 'a')]). Returns the matches in document order.
std::vector<Value> jsonQuery(const Value& data, std::string_view path);

// text_template: {{name}} / {{a.b.1}} substitution. `missing` is "error", "empty" or "keep".
std::string renderTemplate(std::string_view tpl, const Value& vars,
                           std::string_view missing = "error");

// csv_parse: RFC 4180 records (quoted fields with "" escapes and line breaks, CRLF or LF).
std::vector<std::vector<std::string>> parseCsv(std::string_view text, char delimiter = ',');
// csv_parse's records from {text, header, delimiter, numbers}: {rows, columns, count}. `who`
// names the caller in error messages.
Value csvRecords(const Value& args, std::string_view who);

// web_fetch: HTML as readable text (scripts, styles and tags removed, entities decoded, block
// elements on their own lines). `title` receives the <title> text.
std::string htmlToText(std::string_view html, std::string* title = nullptr);

// Splits a command line into argv words (single and double quotes, backslash escapes); no
// expansion of any kind.
std::vector<std::string> splitCommand(std::string_view cmd);

// Each built-in tool.
std::vector<ToolPtr> makeBuiltins();

}  // namespace llmspell::tools
