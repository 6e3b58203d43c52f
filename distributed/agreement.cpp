#include "distributed/agreement.hpp"

#include <algorithm>
#include <exception>

#include "core/error.hpp"
#include "core/hex.hpp"
#include "distributed/broadcast.hpp"

namespace convoy {
namespace {

// The error types a rank's failure is carried across as; the order is the wire format.
enum class ErrorKind : int64_t { other = 0, config, shape, io, comm, internal };

ErrorKind kind_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const ConfigError&) {
    return ErrorKind::config;
  } catch (const ShapeError&) {
    return ErrorKind::shape;
  } catch (const IoError&) {
    return ErrorKind::io;
  } catch (const CommError&) {
    return ErrorKind::comm;
  } catch (const InternalError&) {
    return ErrorKind::internal;
  } catch (...) {
    return ErrorKind::other;
  }
}

std::string message_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

[[noreturn]] void throw_as(ErrorKind kind, const std::string& message) {
  switch (kind) {
    case ErrorKind::config: throw ConfigError(message);
    case ErrorKind::shape: throw ShapeError(message);
    case ErrorKind::io: throw IoError(message);
    case ErrorKind::internal: throw InternalError(message);
    case ErrorKind::comm:
    case ErrorKind::other: break;
  }
  throw CommError(message);
}

// name NUL value NUL ... (names and values hold no NUL: options and paths cannot).
std::string serialize(const SettingsTable& settings) {
  std::string text;
  for (const auto& [name, value] : settings) text += name + '\0' + value + '\0';
  return text;
}

SettingsTable deserialize(const std::string& text) {
  SettingsTable settings;
  size_t at = 0;
  while (at < text.size()) {
    const size_t name_end = text.find('\0', at);
    const size_t value_end = text.find('\0', name_end + 1);
    settings.emplace_back(text.substr(at, name_end - at), text.substr(name_end + 1, value_end - name_end - 1));
    at = value_end + 1;
  }
  return settings;
}

// The index of the first entry that differs (name or value), or -1 if the tables are equal.
int64_t first_difference(const SettingsTable& a, const SettingsTable& b) {
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i)
    if (i >= a.size() || i >= b.size() || a[i] != b[i]) return static_cast<int64_t>(i);
  return -1;
}

}  // namespace

void check_settings_on_all_ranks(Communicator& comm, const SettingsTable& settings, const std::string& what) {
  if (comm.size() == 1) return;
  const std::string mine = serialize(settings);
  const SettingsTable reference = deserialize(broadcast_string(comm, mine, 0));
  const bool differs = first_difference(reference, settings) >= 0;
  int64_t lowest = differs ? comm.size() - comm.rank() : 0;  // as in check_same_on_all_ranks
  comm.allreduce_max(&lowest, 1);
  if (lowest == 0) return;
  const int odd = comm.size() - static_cast<int>(lowest);
  const SettingsTable other = deserialize(broadcast_string(comm, mine, odd));
  const auto i = static_cast<size_t>(first_difference(reference, other));
  const auto value = [i](const SettingsTable& t) { return i < t.size() ? "'" + t[i].second + "'" : "<none>"; };
  const std::string name = i < reference.size() ? reference[i].first : other[i].first;
  throw ConfigError(detail::concat("ranks disagree on ", what, " ", name, ": rank 0 has ", value(reference), ", rank ",
                                   odd, " has ", value(other),
                                   " (every rank must run with the same settings; same command line on every rank?)"));
}

bool any_rank(Communicator& comm, bool flag) {
  if (comm.size() == 1) return flag;
  int64_t v = flag ? 1 : 0;
  comm.allreduce_max(&v, 1);
  return v != 0;
}

void check_same_on_all_ranks(Communicator& comm, uint64_t value, const std::string& what) {
  if (comm.size() == 1) return;
  uint64_t reference = value;
  comm.broadcast(&reference, sizeof reference, 0);
  const bool differs = value != reference;
  // The lowest differing rank, as size - rank so that a max finds it (0: none differs).
  int64_t lowest = differs ? comm.size() - comm.rank() : 0;
  comm.allreduce_max(&lowest, 1);
  if (lowest == 0) return;
  int64_t count = differs ? 1 : 0;
  comm.allreduce_sum(&count, 1);
  const int odd = comm.size() - static_cast<int>(lowest);
  uint64_t odd_value = value;
  comm.broadcast(&odd_value, sizeof odd_value, odd);
  throw ConfigError(detail::concat("ranks disagree on the ", what, ": rank 0 has ", hex(reference), ", rank ", odd,
                                   " has ", hex(odd_value), " (", count, " of ", comm.size(),
                                   " ranks differ from rank 0; same binary, data and options on every rank?)"));
}

void run_on_all_ranks(Communicator& comm, const std::string& what, const std::function<void()>& action) {
  std::exception_ptr error;
  try {
    action();
  } catch (...) {
    error = std::current_exception();
  }
  if (comm.size() == 1) {
    if (error) std::rethrow_exception(error);
    return;
  }
  int64_t lowest = error ? comm.size() - comm.rank() : 0;  // the lowest failing rank, as for values
  comm.allreduce_max(&lowest, 1);
  if (lowest == 0) return;
  const int failed = comm.size() - static_cast<int>(lowest);
  int64_t kind = error ? static_cast<int64_t>(kind_of(error)) : 0;
  comm.broadcast(&kind, sizeof kind, failed);
  const std::string host = broadcast_string(comm, comm.host(), failed);
  const std::string message = broadcast_string(comm, error ? message_of(error) : std::string(), failed);
  if (error) std::rethrow_exception(error);
  throw_as(static_cast<ErrorKind>(kind),
           detail::concat("rank ", failed, " (", host, ") failed while ", what, ": ", message));
}

}  // namespace convoy
