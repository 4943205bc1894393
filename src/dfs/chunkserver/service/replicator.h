// Replicator: copies sealed chunks from peer chunkservers onto this one.
//
// The master asks for copies (heartbeat REPLICATE commands, or the
// CHUNKSERVER_REPLICATE RPC). Each copy pulls the chunk with CHUNKSERVER_READ
// in pieces of at most `piece_bytes`, checks each piece's CRC32C, appends it
// durably (the store checks every 4 KiB block again) and seals at the
// requested length. A source that fails is replaced by the next one from the
// offset reached; a copy that no source can finish is removed again so no
// half replica is reported. A replica already here is re-verified: a corrupt
// one is replaced, a partial one (an interrupted earlier copy) is resumed.
//
// Flow control (DESIGN.md §2): at most `concurrent_max` copies run at once
// (one worker thread each), at most `queue_max` wait, and all of them share a
// byte budget of `bytes_per_sec_max`; a command may lower its own rate
// further. A copy of a chunk already queued or running is not queued twice:
// the caller gets the same future.
//
// A listener set with SetCopyListener hears of every copy as it ends, on the
// worker that ran it (MasterLink reports a landed copy to the master at once,
// so that the next one starts without waiting for a heartbeat or a poll).
//
// Thread-safety: thread-safe. Ownership: borrows the store, the RPC client
// and the registry, which must outlive it; Stop() before destroying them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "common/result.h"
#include "dfs/chunkserver/service/chunkserver_options.h"
#include "dfs/chunkserver/service/token_bucket.h"
#include "dfs/chunkserver/store/chunk_store.h"
#include "env/clock.h"
#include "rpc/client.h"

namespace strata::dfs {

struct ReplicateJob {
  uint64_t chunk_id = 0;
  uint64_t length = 0;  // sealed length to copy
  uint64_t epoch = 0;
  std::vector<std::string> source_addrs;  // host:port, tried in order
  uint32_t target_disk = 0;
  uint64_t bytes_per_sec_max = 0;  // this copy's own limit; 0: only the shared one
};

// The copy's outcome: the replica's disk and sealed length.
struct ReplicateResult {
  uint32_t disk = 0;
  uint64_t length = 0;
};

class Replicator {
 public:
  using Future = std::shared_future<Result<ReplicateResult>>;
  using CopyListener = std::function<void(const ReplicateJob&, const Result<ReplicateResult>&)>;

  Replicator(ReplicatorOptions options, ChunkStore* store, rpc::RpcClient* rpc, std::shared_ptr<Clock> clock,
             MetricsRegistry* metrics);
  ~Replicator();

  void Start();
  // Cancels queued copies, interrupts running ones, joins the workers.
  void Stop();

  // Queues a copy. ResourceExhausted when the queue is full; Unavailable
  // after Stop().
  Result<Future> Submit(ReplicateJob job);
  // Copies queued or running.
  uint32_t in_flight() const;
  // Called after each copy ends, before its future is fulfilled; may block
  // (the worker waits). Replacing it (or clearing it with nullptr) waits for
  // a call in progress, so the old listener may be destroyed afterwards.
  void SetCopyListener(CopyListener listener);

 private:
  struct Task {
    ReplicateJob job;
    std::promise<Result<ReplicateResult>> promise;
  };
  void WorkerLoop();
  Result<ReplicateResult> Copy(const ReplicateJob& job);
  // `*created`: the replica did not exist and was created for this copy.
  Result<uint64_t> PrepareTarget(const ReplicateJob& job, uint32_t* disk, bool* created);
  // False when reading the replica finds a CRC mismatch.
  bool VerifyExisting(uint64_t chunk_id, uint64_t length);
  Status CopyPieces(const ReplicateJob& job, uint64_t offset);
  Result<std::string> ReadPiece(const std::string& source, uint64_t chunk_id, uint64_t offset, uint64_t length);

  const ReplicatorOptions options_;
  ChunkStore* store_;
  rpc::RpcClient* rpc_;
  std::shared_ptr<Clock> clock_;
  TokenBucket bucket_;
  std::atomic<bool> stopping_{false};

  mutable std::mutex mu_;
  std::condition_variable work_;
  std::deque<std::unique_ptr<Task>> queue_;  // GUARDED_BY(mu_)
  std::map<uint64_t, Future> active_;         // GUARDED_BY(mu_); chunk id -> queued or running
  std::vector<std::thread> workers_;
  std::mutex listener_mu_;  // held while the listener runs
  CopyListener listener_;   // GUARDED_BY(listener_mu_)

  Counter* copies_ok_;
  Counter* copies_failed_;
  Counter* copy_bytes_;
  Gauge* in_flight_gauge_;
};

}  // namespace strata::dfs
