#include "apps/image_size_option.hpp"

#include <cstdlib>

#include "core/error.hpp"

namespace convoy {
namespace {

int64_t parse_side(const std::string& text, const std::string& size) {
  char* end = nullptr;
  const long long value = text.empty() ? 0 : std::strtoll(text.c_str(), &end, 10);
  CONVOY_CHECK(!text.empty() && *end == '\0' && value >= 1 && value <= (1 << 15), ConfigError, "--size '", size,
               "': expected HxW with sides in [1, 32768], e.g. 64x64");
  return value;
}

}  // namespace

ResizeTarget parse_resize_target(const std::string& size, const std::string& filter) {
  ResizeTarget target;
  CONVOY_CHECK(filter == "area" || filter == "bilinear", ConfigError, "--resize-filter '", filter,
               "': expected area or bilinear");
  target.filter = filter == "area" ? ResizeFilter::area : ResizeFilter::bilinear;
  if (size.empty()) return target;
  const size_t x = size.find_first_of("xX");
  CONVOY_CHECK(x != std::string::npos, ConfigError, "--size '", size, "': expected HxW, e.g. 64x64");
  target.height = parse_side(size.substr(0, x), size);
  target.width = parse_side(size.substr(x + 1), size);
  return target;
}

CLI::Validator image_size() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        try {
          if (!parse_resize_target(s, "bilinear").active()) throw ConfigError("empty");
        } catch (const ConfigError&) {
          return "expected HxW with sides in [1, 32768], e.g. 64x64, found '" + s + "'";
        }
        return "";
      },
      "HxW");
}

}  // namespace convoy
