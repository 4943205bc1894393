// ProgressBar: a one-line progress display for long transfers, drawn on
// stderr only when stderr is a terminal (so scripts and logs stay clean).
//
// Thread-safety: not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace strata::cli {

class ProgressBar {
 public:
  // `total` 0 means unknown (shows bytes and rate only).
  ProgressBar(std::string label, uint64_t total);
  ~ProgressBar();
  void Update(uint64_t done);
  void Finish();

 private:
  void Draw(bool force);
  std::string label_;
  uint64_t total_;
  uint64_t done_ = 0;
  bool enabled_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace strata::cli
