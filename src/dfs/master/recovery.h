// RecoveryQueue: under-replicated sealed chunks, most urgent first, and the
// copies in flight that repair them, under flow control.
//
// Urgency is the number of live replicas left: a chunk with one replica is
// repaired before any chunk with two (then by chunk id, for determinism).
// A chunk with none left is "lost": counted and reported, never queued.
// Each chunk has at most one copy in flight; when it lands (the target
// reports the replica) the caller re-evaluates the chunk, which queues it
// again if it still lacks replicas.
//
// Flow control (DESIGN.md §2, seed 003), with limits that SetLimits adapts
// to foreground latency (recovery_throttle.h):
//   - at most the current copies-per-server limit (at most
//     `recovery_copies_per_server_max`) in flight per server as a source,
//     and as many as a target;
//   - a global byte budget, a token bucket refilled at the current rate
//     (between the floor and `recovery_bytes_per_sec_max`) holding at most
//     one second of it: a copy starts only while the bucket is positive and
//     takes its length from it (possibly into debt), so copies start at most
//     at the budget's rate on average; each copy is also told to read no
//     faster than the rate at its start (ChunkCommand.rate_limit_bytes_per_sec);
//   - the urgent lane: a chunk with one live replica left is never starved
//     by the budget or the shrunken per-server limit. When they refuse it,
//     one copy at a time (no other urgent-lane copy in flight) may start
//     anyway, at the current rate (never below the floor), within the
//     configured `recovery_copies_per_server_max` per server, and charged
//     to the bucket;
//   - a copy that has not landed within `recovery_copy_timeout_ms` is given
//     up and its chunk queued again, as are copies touching a dead server.
//
// Nothing here paces copies: the master starts the next copy as soon as one
// lands (its target reports it at once, master_link.h), so recovery runs as
// fast as the budget and the per-server limits allow.
//
// Balancer moves (balancer.h) are copies of fully replicated chunks tracked
// here too, under the same limits and budget; they are counted apart
// (`moves_done`, not `done`).
//
// Thread-safety: not thread-safe; the master service serializes access.
// Ownership: borrows the clock.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "dfs/master/master_options.h"
#include "env/clock.h"

namespace strata::dfs::master {

struct CopyTask {
  uint64_t chunk_id = 0;
  std::string source;
  std::string target;
  uint32_t target_disk = 0;
  uint64_t bytes = 0;
  uint64_t started_us = 0;
  uint64_t deadline_us = 0;
  uint64_t polled_us = 0;  // when the master last asked the target about it
  uint64_t rate_bytes_per_sec = 0;  // the copy's read rate limit
  bool urgent_lane = false;  // started outside the budget (one live replica left)
  bool move = false;         // a balancer move (balancer.h): the source's replica goes once it lands
};

struct RecoveryStats {
  uint64_t queued = 0;                          // waiting, no copy in flight
  std::map<uint32_t, uint64_t> queued_by_live;  // under-replicated: live replicas -> chunks
  uint64_t lost = 0;                            // sealed chunks with no live replica
  uint64_t in_flight = 0;
  uint64_t in_flight_bytes = 0;
  uint64_t done = 0;
  uint64_t done_bytes = 0;
  uint64_t failed = 0;  // timed out or aborted
  uint64_t urgent_in_flight = 0;  // copies in the urgent lane (0 or 1)
  uint64_t moves_in_flight = 0;   // balancer moves among in_flight
  uint64_t moves_done = 0;        // landed balancer moves (not in done)
};

class RecoveryQueue {
 public:
  RecoveryQueue(const Clock* clock, const MasterOptions& options);

  // `chunk_id` has `live` of `wanted` replicas: queue, requeue or drop it.
  void Update(uint64_t chunk_id, uint32_t live, uint32_t wanted);
  // The chunk is gone (deleted); drops it and any copy in flight.
  void Forget(uint64_t chunk_id);

  // Queued chunks without a copy in flight, most urgent first, at most `max`.
  std::vector<uint64_t> Candidates(size_t max) const;
  // The chunk is queued with one live replica left.
  bool Urgent(uint64_t chunk_id) const;
  // Room for one more copy from (to) `server`: under the current limit, or
  // for the urgent lane under `recovery_copies_per_server_max`.
  bool SourceHasRoom(const std::string& server, bool urgent_lane = false) const;
  bool TargetHasRoom(const std::string& server, bool urgent_lane = false) const;
  // True while the byte budget allows starting another copy.
  bool BudgetAllows();
  // True when no urgent-lane copy is in flight.
  bool UrgentLaneFree() const { return urgent_in_flight_ == 0; }
  // Records a copy as started (consumes budget and per-server slots; sets
  // its rate limit and deadline).
  void Start(CopyTask task);
  // The current limits (recovery_throttle.h); both are at least 1.
  void SetLimits(uint64_t bytes_per_sec, uint32_t copies_per_server);
  uint64_t rate_limit_bytes_per_sec() const { return rate_bytes_per_sec_; }
  uint32_t copies_per_server() const { return copies_per_server_; }
  size_t in_flight() const { return in_flight_.size(); }
  // Copies and moves landed so far.
  uint64_t landed() const { return done_ + moves_done_; }
  uint32_t moves_in_flight() const { return moves_in_flight_; }
  // Some chunk is queued (under-replicated, copied or not).
  bool AnyQueued() const { return !queue_.empty(); }

  // The target reported the replica: the copy is done. False if no copy of
  // that chunk to that server was in flight.
  bool Complete(uint64_t chunk_id, const std::string& target);
  // Copies to or from `server`, given up (it died).
  std::vector<CopyTask> AbortServer(const std::string& server);
  // Copies past their deadline, given up.
  std::vector<CopyTask> ExpireTasks();
  // Copies whose target was not asked about them for `interval_us`; marks
  // them asked now.
  std::vector<CopyTask> DuePolls(uint64_t interval_us);
  const CopyTask* InFlight(uint64_t chunk_id) const;
  uint32_t CopiesInvolving(const std::string& server) const;

  RecoveryStats Stats() const;

 private:
  void Refill();
  void Finish(std::map<uint64_t, CopyTask>::iterator it);
  void Dequeue(uint64_t chunk_id);

  const Clock* clock_;
  MasterOptions options_;
  std::set<std::pair<uint32_t, uint64_t>> queue_;  // (live, chunk id)
  std::map<uint64_t, uint32_t> live_;              // queued chunk -> live replicas
  std::set<uint64_t> lost_;
  std::map<uint64_t, CopyTask> in_flight_;
  std::map<std::string, uint32_t> as_source_, as_target_;
  uint64_t rate_bytes_per_sec_;
  uint32_t copies_per_server_;
  uint32_t urgent_in_flight_ = 0;
  uint32_t moves_in_flight_ = 0;
  uint64_t moves_done_ = 0;
  double tokens_bytes_ = 0;
  uint64_t refilled_us_ = 0;
  uint64_t done_ = 0, done_bytes_ = 0, failed_ = 0;
};

}  // namespace strata::dfs::master
