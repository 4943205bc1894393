// Scrubber: re-reads every sealed replica in the background at a bounded
// rate, so that corruption of data nobody reads is found (DESIGN.md §2,
// integrity) — the store verifies each 4 KiB block's CRC32C on the read and
// its corruption listener reports a mismatch to the master.
//
// A pass walks the replicas in chunk-id order in pieces of `piece_bytes`,
// spending at most `bytes_per_sec_max` (0 disables the scrubber); passes start
// `pass_pause_ms` apart, the first one `pass_pause_ms` after Start().
//
// Thread-safety: Start/Stop from one thread; the pass runs on its own thread.
// Ownership: borrows the store, which must outlive it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include "common/metrics.h"
#include "dfs/chunkserver/service/token_bucket.h"
#include "dfs/chunkserver/store/chunk_store.h"
#include "env/clock.h"

namespace strata::dfs {

struct ScrubberOptions {
  uint64_t bytes_per_sec_max = 8ull << 20;  // 0: no scrubbing
  uint64_t pass_pause_ms = 300'000;
  uint64_t piece_bytes = 1ull << 20;
};

class Scrubber {
 public:
  Scrubber(ScrubberOptions options, ChunkStore* store, std::shared_ptr<Clock> clock, MetricsRegistry* metrics);
  ~Scrubber();

  void Start();
  void Stop();
  // One full pass over the sealed replicas; returns the corrupt ones found.
  // Stops early (returning what it found) when Stop() is called.
  uint64_t RunPass();

 private:
  void Loop();
  void Pause(uint64_t ms);

  const ScrubberOptions options_;
  ChunkStore* store_;
  std::shared_ptr<Clock> clock_;
  TokenBucket bucket_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  Counter* scrubbed_bytes_;
  Counter* passes_;
};

}  // namespace strata::dfs
