#include "apps/progress.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace convoy {

std::string format_duration(double seconds) {
  const auto s = static_cast<long long>(std::max(0.0, std::round(seconds)));
  char text[32];
  if (s >= 3600)
    std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  else
    std::snprintf(text, sizeof text, "%lld:%02lld", s / 60, s % 60);
  return text;
}

ProgressReporter::ProgressReporter(std::FILE* out, bool interactive, int64_t epochs, int64_t global_batch,
                                   const std::string& metrics_path, std::vector<std::string> history)
    : out_(out), interactive_(interactive), epochs_(epochs), global_batch_(global_batch), history_(std::move(history)) {
  if (!metrics_path.empty()) {
    metrics_.open(metrics_path, std::ios::app);
    CONVOY_CHECK(metrics_.good(), IoError, "--metrics '", metrics_path, "': cannot open for writing");
  }
}

namespace {

// [{"compute": s, "data_wait": s, "gradient_wait": s, "statistics_wait": s}, ...] in rank order.
nlohmann::json rank_times_json(const std::vector<RankTimes>& ranks) {
  nlohmann::json out = nlohmann::json::array();
  for (const RankTimes& t : ranks)
    out.push_back({{"compute", t.compute},
                   {"data_wait", t.data_wait},
                   {"gradient_wait", t.gradient_wait},
                   {"statistics_wait", t.statistics_wait}});
  return out;
}

// " lagging: rank 2 (compute 1.21 s, data wait 0.40 s: 1.35x the median rank)", or "".
std::string lag_note(const std::vector<RankTimes>& ranks) {
  const int k = lagging_rank(ranks);
  if (k < 0) return "";
  char text[160];
  std::snprintf(text, sizeof text, " lagging: rank %d (compute %.2f s, data wait %.2f s: %.2fx the median rank)", k,
                ranks[k].compute, ranks[k].data_wait,
                (ranks[k].compute + ranks[k].data_wait) / median_busy_seconds(ranks));
  return text;
}

}  // namespace

void ProgressReporter::on_step(const StepReport& r) {
  const int64_t steps_left = (epochs_ - r.epoch) * r.steps_per_epoch - r.step_in_epoch;
  const double eta = r.images_per_second > 0 ? steps_left * global_batch_ / r.images_per_second : 0.0;
  if (interactive_) {
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(kWidth * r.step_in_epoch / std::max<int64_t>(r.steps_per_epoch, 1));
    std::string bar(filled, '=');
    if (filled < kWidth) bar += '>' + std::string(kWidth - filled - 1, ' ');
    std::fprintf(out_, "\repoch %lld/%lld [%s] %lld/%lld loss %.4f acc %.2f%% %.0f img/s ETA %s   ",
                 static_cast<long long>(r.epoch) + 1, static_cast<long long>(epochs_), bar.c_str(),
                 static_cast<long long>(r.step_in_epoch), static_cast<long long>(r.steps_per_epoch), r.loss,
                 100.0 * r.accuracy, r.images_per_second, format_duration(eta).c_str());
  } else {
    std::fprintf(out_, "epoch %lld/%lld step %lld/%lld loss=%.4f accuracy=%.2f%% images/s=%.0f lr=%.3g eta=%s%s\n",
                 static_cast<long long>(r.epoch) + 1, static_cast<long long>(epochs_),
                 static_cast<long long>(r.step_in_epoch), static_cast<long long>(r.steps_per_epoch), r.loss,
                 100.0 * r.accuracy, r.images_per_second, r.learning_rate, format_duration(eta).c_str(),
                 lag_note(r.ranks).c_str());
  }
  std::fflush(out_);
  if (metrics_.is_open()) {
    metrics_ << nlohmann::json{{"type", "step"},
                               {"epoch", r.epoch + 1},
                               {"step", r.global_step},
                               {"loss", r.loss},
                               {"accuracy", r.accuracy},
                               {"images_per_second", r.images_per_second},
                               {"lr", r.learning_rate},
                               {"allreduce_wait_share", r.allreduce_wait_share},
                               {"ranks", rank_times_json(r.ranks)}}
                    .dump()
             << '\n';
  }
}

void ProgressReporter::on_epoch(const EpochReport& r) {
  if (interactive_) std::fprintf(out_, "\r\033[K");
  std::fprintf(out_, "epoch %lld/%lld: train loss=%.4f accuracy=%.2f%%", static_cast<long long>(r.epoch) + 1,
               static_cast<long long>(epochs_), r.train_loss, 100.0 * r.train_accuracy);
  if (r.has_val)
    std::fprintf(out_, " | val loss=%.4f accuracy=%.2f%%%s", r.val.loss, 100.0 * r.val.accuracy,
                 r.improved ? " (best)" : "");
  if (r.has_test) std::fprintf(out_, " | test loss=%.4f accuracy=%.2f%%", r.test.loss, 100.0 * r.test.accuracy);
  std::fprintf(out_, " | %.1fs, %.0f images/s\n", r.seconds, r.images_per_second);
  if (r.lr_reduced)
    std::fprintf(out_, "learning rate reduced on plateau (after epoch %lld)\n", static_cast<long long>(r.epoch) + 1);
  std::fflush(out_);
  nlohmann::json j = {{"type", "epoch"},
                      {"epoch", r.epoch + 1},
                      {"train_loss", r.train_loss},
                      {"train_accuracy", r.train_accuracy},
                      {"lr", r.learning_rate},
                      {"seconds", r.seconds},
                      {"images_per_second", r.images_per_second}};
  if (r.has_val) {
    j["val_loss"] = r.val.loss;
    j["val_accuracy"] = r.val.accuracy;
  }
  if (r.has_test) {
    j["test_loss"] = r.test.loss;
    j["test_accuracy"] = r.test.accuracy;
  }
  write_metrics(j.dump());
}

void ProgressReporter::write_metrics(const std::string& json_line) {
  if (metrics_.is_open()) metrics_ << json_line << '\n' << std::flush;
  history_.push_back(json_line);
}

}  // namespace convoy
