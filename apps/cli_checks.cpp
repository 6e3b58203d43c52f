#include "apps/cli_checks.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <vector>

#include <nlohmann/json.hpp>

namespace convoy {
namespace {

bool all_digits(const std::string& s, size_t from) {
  if (from >= s.size()) return false;
  for (size_t i = from; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

std::string range_text(double min, bool min_inclusive, double max, bool max_inclusive) {
  const auto text = [](double v) { return std::isinf(v) ? std::string(v < 0 ? "-inf" : "inf") : nlohmann::json(v).dump(); };
  return (min_inclusive ? "[" : "(") + text(min) + ", " + text(max) + (max_inclusive ? "]" : ")");
}

}  // namespace

CLI::Validator integer_in(int64_t min, int64_t max) {
  const std::string range = "[" + std::to_string(min) + ", " + std::to_string(max) + "]";
  return CLI::Validator(
      [min, max, range](std::string& s) -> std::string {
        const std::string expected = "expected an integer in " + range + ", found '" + s + "'";
        if (!all_digits(s, s.starts_with('-') ? 1 : 0)) return expected;
        int64_t value = 0;
        const auto [end, err] = std::from_chars(s.data(), s.data() + s.size(), value);
        if (err != std::errc() || end != s.data() + s.size() || value < min || value > max) return expected;
        return "";
      },
      max == std::numeric_limits<int64_t>::max() ? ">= " + std::to_string(min) : range);
}

CLI::Validator unsigned_integer() {
  const std::string range = "[0, " + std::to_string(std::numeric_limits<uint64_t>::max()) + "]";
  return CLI::Validator(
      [range](std::string& s) -> std::string {
        const std::string expected = "expected an integer in " + range + ", found '" + s + "'";
        if (!all_digits(s, 0)) return expected;
        uint64_t value = 0;
        const auto [end, err] = std::from_chars(s.data(), s.data() + s.size(), value);
        if (err != std::errc() || end != s.data() + s.size()) return expected;
        return "";
      },
      ">= 0");
}

CLI::Validator number_in(double min, bool min_inclusive, double max, bool max_inclusive) {
  const std::string range = range_text(min, min_inclusive, max, max_inclusive);
  return CLI::Validator(
      [=](std::string& s) -> std::string {
        const std::string expected = "expected a finite number in " + range + ", found '" + s + "'";
        char* end = nullptr;
        const double value = std::strtod(s.c_str(), &end);
        if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(value)) return expected;
        if (min_inclusive ? value < min : value <= min) return expected;
        if (max_inclusive ? value > max : value >= max) return expected;
        return "";
      },
      range);
}

CLI::Validator one_of(std::initializer_list<const char*> words) {
  std::vector<std::string> list(words.begin(), words.end());
  std::string joined;
  for (size_t i = 0; i < list.size(); ++i)
    joined += (i == 0 ? "" : i + 1 == list.size() ? " or " : ", ") + list[i];
  return CLI::Validator(
      [list, joined](std::string& s) -> std::string {
        for (const std::string& w : list)
          if (s == w) return "";
        return "expected " + joined + ", found '" + s + "'";
      },
      joined);
}

}  // namespace convoy
