#include "dfs/chunkserver/service/scrubber.h"

#include <algorithm>

#include "common/logging.h"

namespace strata::dfs {

Scrubber::Scrubber(ScrubberOptions options, ChunkStore* store, std::shared_ptr<Clock> clock,
                   MetricsRegistry* metrics)
    : options_(options), store_(store), clock_(clock), bucket_(clock, options.bytes_per_sec_max) {
  scrubbed_bytes_ = metrics->GetCounter("strata_chunkserver_scrub_bytes_total", "Bytes verified by the scrubber");
  passes_ = metrics->GetCounter("strata_chunkserver_scrub_passes_total", "Scrubber passes completed");
}

Scrubber::~Scrubber() { Stop(); }

void Scrubber::Start() {
  if (options_.bytes_per_sec_max == 0) return;
  thread_ = std::thread([this] { Loop(); });
}

void Scrubber::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void Scrubber::Pause(uint64_t ms) {
  constexpr uint64_t kSliceMs = 50;
  for (uint64_t slept = 0; slept < ms && !stopping_; slept += kSliceMs) {
    clock_->SleepMicros(std::min(kSliceMs, ms - slept) * 1000);
  }
}

void Scrubber::Loop() {
  while (!stopping_) {
    Pause(options_.pass_pause_ms);
    if (stopping_) return;
    uint64_t bad = RunPass();
    if (bad) spdlog::warn("scrubber: {} corrupt replicas found in this pass", bad);
  }
}

uint64_t Scrubber::RunPass() {
  uint64_t bad = 0;
  std::string buf;
  for (const ReplicaState& r : store_->ListReplicas()) {
    if (!r.sealed) continue;
    for (uint64_t off = 0; off < r.length && !stopping_; off += options_.piece_bytes) {
      uint64_t n = std::min(options_.piece_bytes, r.length - off);
      if (!bucket_.Acquire(n, &stopping_)) return bad;
      Status st = store_->Read(r.chunk_id, off, n, &buf);
      if (st.code() == StatusCode::kCorruption) {
        bad++;  // the store's listener reports it; the rest of this replica does not matter
        break;
      }
      if (!st.ok()) break;  // deleted meanwhile, or a disk error (which marks the disk)
      scrubbed_bytes_->Add(n);
    }
    if (stopping_) return bad;
  }
  passes_->Add();
  return bad;
}

}  // namespace strata::dfs
