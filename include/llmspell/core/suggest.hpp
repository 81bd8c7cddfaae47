// "Did you mean ...?": the registered names closest to a mistyped one, for the messages that
// answer an unknown function (llm.chta), module attribute (Tengo) or CLI subcommand. Header-only
// so the standalone Tengo core can use it without linking the rest of core.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llmspell {

// Levenshtein distance, case-insensitive.
inline size_t editDistance(std::string_view a, std::string_view b) {
  auto low = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (low(a[i - 1]) == low(b[j - 1]) ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// Up to `max` candidates close to `name` (within a third of its length, at least 2 edits, or
// containing it), closest first; ties keep the candidates' order.
inline std::vector<std::string> closestNames(std::string_view name, const std::vector<std::string>& candidates,
                                             size_t max = 3) {
  std::vector<std::pair<size_t, const std::string*>> c;
  for (const auto& cand : candidates) {
    size_t d = editDistance(name, cand);
    bool contains = name.size() >= 3 && cand.find(name) != std::string::npos;
    if (d <= std::max<size_t>(2, name.size() / 3) || contains) c.emplace_back(contains ? std::min<size_t>(d, 1) : d, &cand);
  }
  std::stable_sort(c.begin(), c.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> out;
  for (size_t i = 0; i < c.size() && out.size() < max; ++i)
    if (std::find(out.begin(), out.end(), *c[i].second) == out.end()) out.push_back(*c[i].second);
  return out;
}

// "a", "a or b", "a, b or c", each prefixed with `prefix` ("llm.").
inline std::string orList(const std::vector<std::string>& names, std::string_view prefix = "") {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) s += i + 1 == names.size() ? " or " : ", ";
    s += std::string(prefix) + names[i];
  }
  return s;
}

// "ns.name does not exist; did you mean ns.x?" (or "... does not exist in ns" without a match).
inline std::string unknownMemberMessage(std::string_view ns, std::string_view name,
                                        const std::vector<std::string>& members) {
  std::string prefix = std::string(ns) + ".";
  std::string msg = prefix + std::string(name) + " does not exist";
  auto close = closestNames(name, members);
  if (!close.empty()) return msg + "; did you mean " + orList(close, prefix) + "?";
  return msg + " (" + std::string(ns) + " has no member of that name)";
}

}  // namespace llmspell
