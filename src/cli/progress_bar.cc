#include "cli/progress_bar.h"

#include <unistd.h>

#include <cstdio>

#include "cli/admin_options.h"

namespace strata::cli {

ProgressBar::ProgressBar(std::string label, uint64_t total)
    : label_(std::move(label)),
      total_(total),
      enabled_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Update(uint64_t done) {
  done_ = done;
  Draw(false);
}

void ProgressBar::Finish() {
  if (finished_) return;
  finished_ = true;
  if (!enabled_) return;
  Draw(true);
  std::fputc('\n', stderr);
}

void ProgressBar::Draw(bool force) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  double secs = std::chrono::duration<double>(now - start_).count();
  double rate = secs > 0 ? static_cast<double>(done_) / secs : 0;
  constexpr int kWidth = 30;
  if (total_ > 0) {
    int filled = static_cast<int>(static_cast<double>(done_) * kWidth / static_cast<double>(total_));
    std::string bar(static_cast<size_t>(filled), '=');
    if (filled < kWidth) bar += '>';
    bar.resize(kWidth, ' ');
    std::fprintf(stderr, "\r%s [%s] %3d%% %s / %s  %s/s ", label_.c_str(), bar.c_str(),
                 static_cast<int>(100.0 * static_cast<double>(done_) / static_cast<double>(total_)),
                 HumanBytes(done_).c_str(), HumanBytes(total_).c_str(), HumanBytes(static_cast<uint64_t>(rate)).c_str());
  } else {
    std::fprintf(stderr, "\r%s %s  %s/s ", label_.c_str(), HumanBytes(done_).c_str(),
                 HumanBytes(static_cast<uint64_t>(rate)).c_str());
  }
  std::fflush(stderr);
}

}  // namespace strata::cli
