// Activity: what convoy is doing, named for failures that carry no context of their own.
#pragma once

#include <string>

namespace convoy {

// Note [Out of memory]
// std::bad_alloc says nothing about what was being allocated. Each phase of a command (reading
// a dataset, building the model, training) is an Activity in scope; when an exception unwinds
// through one, the innermost records its description, and main turns a std::bad_alloc into
// "out of memory while <that description>".
class Activity {
 public:
  explicit Activity(std::string what);
  Activity(const Activity&) = delete;
  Activity& operator=(const Activity&) = delete;
  ~Activity();

  // The innermost activity the last exception unwound through ("" if none).
  static const std::string& failed();

 private:
  std::string what_;
  int exceptions_;  // uncaught exceptions when this activity began
};

}  // namespace convoy
