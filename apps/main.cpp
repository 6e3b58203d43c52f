// The convoy executable: subcommands train, eval, predict, plot, convert, bench, inspect, summary, export.
#include <csignal>
#include <cstdio>
#include <exception>
#include <new>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "apps/activity.hpp"
#include "apps/commands.hpp"
#include "apps/exit_codes.hpp"
#include "apps/signals.hpp"
#include "core/error.hpp"
#include "distributed/make_communicator.hpp"

namespace {

// Note [Failing ranks]: the message names the rank; with several ranks MPI_Abort ends every
// rank now, instead of leaving the others waiting in a collective for this one.
int fail(convoy::Communicator& comm, const std::string& message) {
  if (comm.size() > 1) {
    std::fprintf(stderr, "convoy: error on rank %d (%s): %s\n", comm.rank(), comm.host().c_str(), message.c_str());
    std::fflush(stderr);
    comm.abort(convoy::kExitError);
  }
  std::fprintf(stderr, "convoy: error: %s\n", message.c_str());
  return convoy::kExitError;
}

// What was being done, for failures that carry no context of ours (Note [Out of memory]): the
// innermost Activity the exception unwound through, else the subcommand ("convoy convert images").
std::string while_doing(const CLI::App& app) {
  if (!convoy::Activity::failed().empty()) return "while " + convoy::Activity::failed();
  std::string command = "convoy";
  for (const CLI::App* sub = &app; !sub->get_subcommands().empty();) {
    sub = sub->get_subcommands().front();
    command += " " + sub->get_name();
  }
  return "while running " + command;
}

}  // namespace

// Throws only on a programming error in building the command table (a duplicate option name),
// which should terminate: every user-caused error is caught below.
int main(int argc, char** argv) {  // NOLINT(bugprone-exception-escape)
  using namespace convoy;
  // Note [Preemption]: before anything else, so a signal during start-up cannot kill the run.
  if (argc > 1 && std::string_view(argv[1]) == "train") install_stop_signal_handlers();
  // A rank whose peer died mid-message gets EPIPE from its write, which MPI reports, instead of
  // dying of SIGPIPE: otherwise mpirun may name this rank's death rather than the peer's.
  std::signal(SIGPIPE, SIG_IGN);
  // Started by mpirun: an MPI communicator; otherwise the world of one (no MPI start-up cost).
  std::unique_ptr<Communicator> comm;
  try {
    comm = make_communicator(&argc, &argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "convoy: error: %s\n", e.what());
    return kExitError;
  }

  CLI::App app{"Convoy: train convolutional networks on one machine (OpenMP) or many (MPI)", "convoy"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "convoy 0.1.0");
  int exit_code = kExitOk;
  add_train_command(app, *comm, exit_code);
  add_convert_command(app, exit_code);
  add_eval_command(app, *comm, exit_code);
  add_predict_command(app, exit_code);
  add_plot_command(app, exit_code);
  add_inspect_command(app, exit_code);
  add_summary_command(app, exit_code);
  add_export_command(app, exit_code);
  add_bench_command(app, exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  } catch (const Error& e) {
    return fail(*comm, e.what());  // ours: names the file or argument already
  } catch (const std::bad_alloc&) {
    // Note [Out of memory]
    return fail(*comm, "out of memory " + while_doing(app));
  } catch (const std::exception& e) {
    // A library's own exception (the standard library, nlohmann::json, CLI11's callbacks): what
    // it says, after what we were doing.
    return fail(*comm, "unexpected failure " + while_doing(app) + ": " + e.what());
  } catch (...) {
    return fail(*comm, "unexpected failure " + while_doing(app) + " (an exception that is not a std::exception)");
  }
  return exit_code;
}
