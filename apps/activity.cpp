#include "apps/activity.hpp"

#include <exception>
#include <utility>

namespace convoy {
namespace {

std::string& failed_activity() {
  static std::string failed;
  return failed;
}

}  // namespace

Activity::Activity(std::string what) : what_(std::move(what)), exceptions_(std::uncaught_exceptions()) {
  failed_activity().clear();  // an exception before this one was handled
}

Activity::~Activity() {
  // Unwinding: inner activities end first, so the first to record is the innermost.
  if (std::uncaught_exceptions() > exceptions_ && failed_activity().empty()) failed_activity() = std::move(what_);
}

const std::string& Activity::failed() { return failed_activity(); }

}  // namespace convoy
