// Agreement: small collectives all ranks call at the same point to decide together.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "distributed/communicator.hpp"

namespace convoy {

// Every function here is a collective: all ranks call it at the same point, in the same order.
// With one rank they cost nothing.

// True on every rank if `flag` is true on any rank (stop, preempt).
bool any_rank(Communicator& comm, bool flag);

// Throws ConfigError on every rank if `value` is not the same on all ranks. The message names
// `what`, rank 0's value, the lowest rank that differs from it and that rank's value, and how
// many ranks differ. For start-up checks (same model, data and settings) and tests.
void check_same_on_all_ranks(Communicator& comm, uint64_t value, const std::string& what);

// A table of named settings (name, value as text), in the same order on every rank.
using SettingsTable = std::vector<std::pair<std::string, std::string>>;

// Throws ConfigError on every rank if any setting differs from rank 0's. The message names
// the first setting (in table order) that differs on the lowest differing rank, with rank 0's
// value and that rank's: "ranks disagree on <what> <name>: rank 0 has '<a>', rank R has '<b>'".
// Tables of different lengths or names are reported the same way (a missing entry as <none>).
void check_settings_on_all_ranks(Communicator& comm, const SettingsTable& settings, const std::string& what);

// Runs `action` on every rank and agrees on the outcome, so that a failure on one rank (a file
// only it cannot open, say) is seen by all instead of leaving them waiting in a later
// collective. If `action` throws anywhere, every rank throws: a failing rank rethrows its own
// exception; the others throw the same Convoy error type (ConfigError, ShapeError, IoError,
// CommError, InternalError; otherwise CommError) with the message "rank R (host) failed while
// <what>: <its message>", naming the lowest failing rank. `action` must not call collectives
// that could be skipped by a throw on one rank.
void run_on_all_ranks(Communicator& comm, const std::string& what, const std::function<void()>& action);

}  // namespace convoy
