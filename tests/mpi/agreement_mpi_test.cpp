#include <gtest/gtest.h>

#include <string>

#include "core/error.hpp"
#include "distributed/agreement.hpp"
#include "tests/mpi/mpi_world.hpp"

namespace convoy {
namespace {

using testing::world;

TEST(AgreementMpi, AnyRank) {
  Communicator& comm = world();
  EXPECT_TRUE(any_rank(comm, comm.rank() == comm.size() - 1));
  EXPECT_TRUE(any_rank(comm, comm.rank() == 0));
  EXPECT_TRUE(any_rank(comm, true));
  EXPECT_FALSE(any_rank(comm, false));
}

TEST(AgreementMpi, DifferingValuesAreCaughtOnEveryRank) {
  Communicator& comm = world();
  EXPECT_NO_THROW(check_same_on_all_ranks(comm, 42, "answer"));
  const int odd = comm.size() - 1;
  try {
    check_same_on_all_ranks(comm, comm.rank() == odd ? 0x43 : 0x42, "answer");
    FAIL() << "rank " << comm.rank() << " did not throw";
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("answer"), std::string::npos) << message;
    const std::string expected =
        "rank 0 has 0x0000000000000042, rank " + std::to_string(odd) + " has 0x0000000000000043";
    EXPECT_NE(message.find(expected), std::string::npos) << message;
  }
  // When rank 0 is the odd one, the lowest other rank is named.
  try {
    check_same_on_all_ranks(comm, comm.rank() == 0 ? 7 : 8, "settings");
    FAIL() << "rank " << comm.rank() << " did not throw";
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    const std::string expected = "rank 0 has 0x0000000000000007, rank 1 has 0x0000000000000008 (" +
                                 std::to_string(comm.size() - 1) + " of";
    EXPECT_NE(message.find(expected), std::string::npos) << message;
  }
}

TEST(AgreementMpi, DifferingSettingIsNamedWithBothValues) {
  Communicator& comm = world();
  const SettingsTable same = {{"--batch", "64"}, {"--log-every", "100"}};
  EXPECT_NO_THROW(check_settings_on_all_ranks(comm, same, "the setting"));
  const int odd = comm.size() - 1;
  SettingsTable mine = same;
  if (comm.rank() == odd) mine[1].second = "20";
  try {
    check_settings_on_all_ranks(comm, mine, "the setting");
    FAIL() << "rank " << comm.rank() << " did not throw";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("ranks disagree on the setting --log-every: rank 0 has '100', rank " +
                                         std::to_string(odd) + " has '20'"),
              std::string::npos)
        << e.what();
  }
  // An entry only one rank has is reported as missing on the others.
  SettingsTable longer = same;
  if (comm.rank() == 1) longer.emplace_back("--resume", "auto");
  try {
    check_settings_on_all_ranks(comm, longer, "the setting");
    FAIL() << "rank " << comm.rank() << " did not throw";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--resume: rank 0 has <none>, rank 1 has 'auto'"), std::string::npos)
        << e.what();
  }
}

TEST(AgreementMpi, OneRanksFailureIsSeenByAll) {
  Communicator& comm = world();
  int calls = 0;
  run_on_all_ranks(comm, "doing nothing", [&] { ++calls; });
  EXPECT_EQ(calls, 1);

  const int failing = comm.size() - 1;
  try {
    run_on_all_ranks(comm, "opening the dataset", [&] {
      if (comm.rank() == failing) throw IoError("train.h5: no such file");
    });
    FAIL() << "rank " << comm.rank() << " did not throw";
  } catch (const IoError& e) {  // the failing rank's type, on every rank
    const std::string message = e.what();
    if (comm.rank() == failing) {
      EXPECT_EQ(message, "train.h5: no such file");
    } else {
      EXPECT_EQ(message.find("rank " + std::to_string(failing) + " ("), 0u) << message;
      EXPECT_NE(message.find(") failed while opening the dataset: train.h5: no such file"), std::string::npos)
          << message;
    }
  }

  // Several ranks fail: the lowest is named; anything not a Convoy error arrives as CommError.
  try {
    run_on_all_ranks(comm, "starting", [&] {
      if (comm.rank() >= 1) throw std::runtime_error("boom on " + std::to_string(comm.rank()));
    });
    FAIL() << "rank " << comm.rank() << " did not throw";
  } catch (const CommError& e) {
    EXPECT_EQ(comm.rank(), 0);
    EXPECT_NE(std::string(e.what()).find("failed while starting: boom on 1"), std::string::npos) << e.what();
  } catch (const std::runtime_error& e) {
    EXPECT_GE(comm.rank(), 1);
    EXPECT_EQ(std::string(e.what()), "boom on " + std::to_string(comm.rank()));
  }
}

}  // namespace
}  // namespace convoy
