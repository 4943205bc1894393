// LeaderElection: one leader among the candidates of a role (the dfs master,
// the blockmanager), the others standing by, decided by one key in etcd held
// on a lease. See docs/etcd.md, "Leader election".
//
// Campaign: grant a lease, then one transaction "if create_revision(key) == 0
// then put key = candidate bound to the lease". The winner leads; its
// leadership revision (its term) is the key's create_revision, which no later
// leader can share. A standby polls the key and campaigns again once it is
// gone (lease expired or revoked).
//
// Step-down: the leader renews the lease every keepalive interval. It stops
// leading AT ONCE when a keepalive fails, answers TTL 0 (the lease is gone),
// or when more than the granted TTL has passed on the injected Clock since
// the last keepalive that succeeded was sent (IsLeader() turns false then even
// if the background thread is blocked in a request). Resign() revokes the
// lease, so a standby takes over without waiting for the TTL.
//
// Fencing: WriteAsLeader(batch) writes only if the election key still has
// this leader's create_revision (an etcd compare in the same transaction), so
// a leader that was paused past its lease cannot write after a successor was
// elected: it gets FailedPrecondition ("not the leader") and nothing is
// written.
//
// Thread-safety: thread-safe. One background thread per started election;
// the callback runs on it, without internal locks held, and must not call
// Stop(). Ownership: borrows the store and shares the clock; both must
// outlive the election.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/result.h"
#include "env/clock.h"
#include "meta/etcd_meta_store.h"

namespace strata::meta {

struct LeaderElectionOptions {
  std::string key;        // the election key, under the store's key prefix
  std::string candidate;  // this candidate's value (e.g. its address)
  int lease_ttl_seconds = 3;
  // 0: a third of the granted TTL.
  int keepalive_interval_ms = 0;
  // How often a standby looks whether the key is gone.
  int standby_poll_interval_ms = 100;
};

class LeaderElection {
 public:
  // Called on every change: (true, revision) when this candidate starts
  // leading, (false, 0) when it stops.
  using OnChange = std::function<void(bool leader, int64_t revision)>;

  // InvalidArgument for an empty key or candidate, a TTL < 1 s, a keepalive
  // interval not below the TTL, or a poll interval < 1 ms.
  static Result<std::unique_ptr<LeaderElection>> Create(EtcdMetaStore* store, std::shared_ptr<Clock> clock,
                                                        LeaderElectionOptions options, OnChange on_change = {});
  ~LeaderElection();  // Stop()
  LeaderElection(const LeaderElection&) = delete;
  LeaderElection& operator=(const LeaderElection&) = delete;

  // Starts campaigning on a background thread.
  void Start();
  // Resigns if leading and stops the background thread.
  void Stop();

  bool IsLeader() const;
  // The leadership revision (the key's create_revision) while leading, else 0.
  int64_t term() const;
  // The current leader's value; NotFound when nobody leads.
  Result<std::string> Leader();
  // Stops leading and revokes the lease (the key goes with it); the candidate
  // campaigns again only after `hold_off_ms` (so that a standby wins).
  Status Resign(int hold_off_ms = 0);

  // Applies `batch` only if this candidate still leads in etcd;
  // FailedPrecondition ("not the leader") with nothing written otherwise.
  Status WriteAsLeader(const WriteBatch& batch);
  // The same, only in the term `term` (a leader that lost leadership and won
  // it again has a new term): state loaded in one term cannot be written in
  // a later one.
  Status WriteAsLeader(const WriteBatch& batch, int64_t term);

  // Test hook: a frozen candidate's background thread does nothing (no
  // keepalive, no step-down), as if the process were paused.
  void FreezeForTesting(bool frozen);

 private:
  LeaderElection(EtcdMetaStore* store, std::shared_ptr<Clock> clock, LeaderElectionOptions options,
                 OnChange on_change);
  void Run();
  void Campaign();
  void KeepAlive();
  // Clears leadership; returns the lease to revoke (0 when not leading).
  int64_t StepDownLocked();
  void Notify(bool leader, int64_t revision);
  // Waits `micros` of clock time or until Stop(); false when stopping.
  bool WaitMicros(uint64_t micros);

  EtcdMetaStore* const store_;
  const std::shared_ptr<Clock> clock_;
  const LeaderElectionOptions options_;
  const OnChange on_change_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;          // GUARDED_BY(mu_)
  bool frozen_ = false;            // GUARDED_BY(mu_)
  bool leader_ = false;            // GUARDED_BY(mu_)
  int64_t term_ = 0;               // GUARDED_BY(mu_)
  int64_t lease_ = 0;              // GUARDED_BY(mu_)
  uint64_t lease_ttl_micros_ = 0;  // GUARDED_BY(mu_)
  uint64_t lease_valid_until_ = 0; // GUARDED_BY(mu_); clock micros
  uint64_t next_keepalive_ = 0;    // GUARDED_BY(mu_); clock micros
  uint64_t campaign_after_ = 0;    // GUARDED_BY(mu_); clock micros
  std::thread thread_;
};

}  // namespace strata::meta
