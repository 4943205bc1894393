// MasterService: the dfs master's RPC methods (proto/master.proto) and its
// periodic work, independent of the transport so tests call it directly.
//
// It owns the master's state: the Catalog (persisted metadata), the
// Namespace over it, the ChunkMap, Membership, the RecoveryQueue and its
// RecoveryThrottle, the per-server command queues, the StormGuard, and the
// fail-slow detectors for disks (SoftFaultDetector) and whole chunkservers
// (SlowServerDetector). One mutex serializes every method; a method
// that must call chunkservers (sealing a chunk a previous writer left open)
// releases it for the calls and re-validates afterwards, and so does an
// allocation that waits for chunkservers to register right after the master
// started (AllocateChunk). Every mutation is
// persisted (synced) before the method returns, so an acknowledged request
// survives a crash of the master.
//
// Tick() runs the periodic work: dead-chunkserver detection, expiry of
// recovery copies, adapting the recovery limits to foreground latency,
// scheduling of new copies under flow control (unless a failure storm paused
// it), polling copy targets, taking slow disks and chunkservers offline,
// dispatch of garbage-collection deletes, expiry of writer leases (sealing
// the open chunk of a writer that is gone), and metrics. The server calls it every
// `tick_interval_ms`; tests call it after moving a ManualClock.
//
// Thread-safety: thread-safe. Ownership: borrows the store, clock, stub and
// metrics registry, which must outlive it.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "common/metrics.h"
#include "common/result.h"
#include "dfs/master/balancer.h"
#include "dfs/master/catalog.h"
#include "dfs/master/chunk_map.h"
#include "dfs/master/chunkserver_stub.h"
#include "dfs/master/command_queue.h"
#include "dfs/master/gc.h"
#include "dfs/master/master_options.h"
#include "dfs/master/membership.h"
#include "dfs/master/namespace.h"
#include "dfs/master/reconcile.h"
#include "dfs/master/recovery.h"
#include "dfs/master/recovery_throttle.h"
#include "dfs/master/slow_server.h"
#include "dfs/master/soft_fault.h"
#include "dfs/master/storm_guard.h"
#include "env/clock.h"
#include "env/random.h"
#include "master.pb.h"
#include "meta/meta_store.h"

namespace strata::dfs::master {

class MasterService {
 public:
  // `random` draws placements (placement.h); null: one seeded from the OS.
  MasterService(meta::MetaStore* store, Clock* clock, ChunkserverStub* stub, MetricsRegistry* metrics,
                MasterOptions options, std::unique_ptr<Random> random = nullptr);

  // Loads the persisted state; call once before anything else.
  Status Start();

  Status Mkdir(const MkdirRequest& req, MkdirResponse* resp);
  Status Create(const CreateRequest& req, CreateResponse* resp);
  Status Stat(const StatRequest& req, StatResponse* resp);
  Status List(const ListRequest& req, ListResponse* resp);
  Status Rename(const RenameRequest& req, RenameResponse* resp);
  Status Delete(const DeleteRequest& req, DeleteResponse* resp);
  Status OpenWrite(const OpenWriteRequest& req, OpenWriteResponse* resp);
  // During the startup grace period (master_options.h) an allocation that
  // known but not yet registered chunkservers could take waits for them, at
  // most half of `caller_timeout_ms` (0: the caller set none) and never past
  // the grace period, then answers Unavailable if it still cannot be placed.
  Status AllocateChunk(const AllocateChunkRequest& req, AllocateChunkResponse* resp,
                       uint32_t caller_timeout_ms = 0);
  Status SealChunk(const SealChunkRequest& req, SealChunkResponse* resp);
  Status CloseWrite(const CloseWriteRequest& req, CloseWriteResponse* resp);
  Status RenewLease(const RenewLeaseRequest& req, RenewLeaseResponse* resp);
  Status ReportBadReplica(const ReportBadReplicaRequest& req, ReportBadReplicaResponse* resp);
  Status Register(const RegisterRequest& req, RegisterResponse* resp);
  Status Heartbeat(const HeartbeatRequest& req, HeartbeatResponse* resp);
  Status ClusterStatus(const ClusterStatusRequest& req, ClusterStatusResponse* resp);

  void Tick();
  // Ends every wait of AllocateChunk at once (they answer Unavailable) and
  // starts no more; call before stopping the RPC server.
  void StopWaiting();
  nlohmann::json StatusJson();
  // The address clients use for this master, shown in status.
  void SetAdvertisedAddress(std::string addr);

 private:
  // Write path helpers (master_write_path.cc).
  struct OpenChunkSeal {
    uint64_t chunk_id = 0;
    uint64_t length = 0;
    std::vector<std::string> seal_addrs;  // replicas that answered long enough
  };
  Status SealLeftOpenChunk(const std::string& path, uint64_t epoch, std::unique_lock<std::mutex>& lock);
  Status DropEmptyLastChunk(uint64_t inode);
  Status CommitNewChunk(const InodeRecord& file, const std::vector<PlacementChoice>& choices,
                        AllocateChunkResponse* resp);
  // Servers known but not registered since the start, when with them the
  // placement would have enough servers (else 0: waiting cannot help).
  size_t RegistrationsAwaited(const PlacementRequest& place) const;
  // Until when (clock micros) an allocation may wait for registrations; 0
  // once the startup grace period is over.
  uint64_t StartupWaitUntil(uint32_t caller_timeout_ms) const;
  // Waits (mu_ released) for the next registration or `until_us`; false,
  // without waiting, when the time is up, waits are stopped or too many
  // allocations wait already. REQUIRES: `lock` holds mu_.
  bool AwaitRegistration(std::unique_lock<std::mutex>& lock, uint64_t until_us);
  // Writer leases: a call of the current writer renews its file's lease.
  void RenewLeaseLocked(uint64_t inode);
  // At start: every file with an open chunk, and every temporary file, gets a
  // fresh lease (its writer, if alive, renews from then on). Afterwards only
  // writers' calls (and creates of temporary files) add leases, so the tick
  // looks at the lease table, not at every chunk.
  // REQUIRES: mu_ held.
  void SeedLeasesLocked();
  // Paths of files with an open chunk, and of temporary files, whose
  // writer's lease ran out; drops the leases of files closed (and not
  // temporary) or deleted. REQUIRES: mu_ held.
  std::vector<std::string> ExpiredLeasesLocked();
  // Takes over a file whose writer is gone: seals its open chunk (as a new
  // writer's OPEN_WRITE would) and closes it; a temporary file is removed.
  void ExpireLease(const std::string& path);
  void RemoveAbandonedTemporary(const std::string& path, uint64_t inode);
  Result<OpenChunkSeal> DecideSeal(const ChunkRecord& chunk, uint32_t min_copies,
                                   const std::vector<std::string>& addrs,
                                   const std::vector<Result<ChunkInfoResponse>>& answers) const;

  // Conversions (master_service.cc).
  FileInfo ToFileInfo(const InodeRecord& rec) const;
  ChunkInfo ToChunkInfo(const ChunkRecord& c) const;
  ReplicaLocation Locate(const ReplicaRecord& r) const;
  std::vector<ServerView> ServerViews() const;

  // Membership and recovery helpers (master_recovery.cc).
  void RefreshRecovery(uint64_t chunk_id);
  void DropReplacedFailedDiskReplicas(const ChunkRecord& c);
  void DropSurplusReplicas(const ChunkRecord& c);
  void DropServerReplicas(const std::string& server);
  void ScheduleCopies();
  ChunkCommand ReplicateCommand(const ChunkRecord& c, const CopyTask& task) const;
  // Applies a report of `server`'s replicas (reconcile.h) and what follows.
  Status ApplyReport(const std::string& server, const HeartbeatRequest& report);
  // The balancer (master_balance.cc, balancer.h).
  void ScheduleMoves();
  std::optional<MovableChunk> FindMovableChunk(const ServerView& source, const ServerView& target,
                                               const std::set<uint64_t>& planned) const;
  void FinishMove(const CopyTask& move);
  // Rack spread repair (master_spread.cc).
  size_t LiveRackCount() const;
  void NoteSpread(const ChunkRecord& c);
  bool PlanSpreadRepair(const ChunkRecord& c, const std::vector<ServerView>& views, CopyTask* task);
  void ScheduleSpreadRepairs();
  bool PlanCopy(const ChunkRecord& c, const std::vector<ServerView>& views, bool urgent_lane, CopyTask* task) const;
  void QueueDelete(const std::string& server, uint64_t chunk_id);
  void ForgetRetired();
  void UpdateThrottle();

  // Fail-slow disks and chunkservers (master_soft_faults.cc).
  SoftFaultBudget FaultBudget() const;
  void ObserveSoftFaults(const std::string& server);
  void RefreshServerChunks(const std::string& server);
  bool RetireReplicas(const std::string& server, const uint32_t* disk);
  void TakeSlowDisksOffline();
  void TakeSlowServersOffline();
  bool InService(const std::string& server, uint32_t disk) const;
  void TickLocked();
  void ApplyCopyPolls(const std::vector<CopyTask>& polled, const std::vector<Result<ChunkInfoResponse>>& answers);
  void UpdateGauges();

  // Status (master_status.cc).
  nlohmann::json ServersJson() const;
  nlohmann::json ChunksJson() const;
  nlohmann::json RecoveryJson() const;
  nlohmann::json AlertsJson() const;

  MasterOptions options_;
  Clock* clock_;
  std::map<uint64_t, uint64_t> lease_renewed_us_;  // GUARDED_BY(mu_); inode -> clock micros
  // Chunks moved by the balancer within balance_chunk_cooldown_ms -> when.
  std::map<uint64_t, uint64_t> moved_us_;  // GUARDED_BY(mu_)
  // Whole chunks whose live replicas are in fewer racks than they could be
  // (master_spread.cc), and the racks with a live server when last looked.
  std::set<uint64_t> spread_short_;  // GUARDED_BY(mu_)
  size_t spread_racks_ = 0;          // GUARDED_BY(mu_)
  ChunkserverStub* stub_;
  MetricsRegistry* metrics_;
  std::unique_ptr<Random> random_;  // GUARDED_BY(mu_)

  std::mutex mu_;
  // Notified by every registration, for allocations waiting after a start.
  std::condition_variable registered_cv_;
  uint64_t registrations_ = 0;       // GUARDED_BY(mu_)
  uint32_t allocations_waiting_ = 0;  // GUARDED_BY(mu_)
  bool stop_waiting_ = false;         // GUARDED_BY(mu_)
  Catalog catalog_;
  Namespace ns_;
  ChunkMap chunks_;
  Membership membership_;
  RecoveryQueue recovery_;
  CommandQueues queues_;
  SoftFaultDetector soft_faults_;
  SlowServerDetector slow_servers_;
  RecoveryThrottle throttle_;
  Reconciler reconciler_;
  GcDispatcher gc_;
  StormGuard storm_;
  std::string advertised_addr_;
  uint64_t started_us_ = 0;
  uint64_t copies_done_counted_ = 0;
  std::string soft_fault_alert_;  // the latest raised, kept after it clears

  struct Metrics {
    Counter* replicas_added;
    Counter* replicas_removed;
    Counter* deletes_sent;
    Counter* seals_sent;
    Counter* copies_started;
    Counter* copies_done;
    Counter* copies_failed;
    Counter* leases_expired;
    Counter* bad_replicas;
    Counter* servers_died;
    Counter* registrations_refused;
    Counter* rack_fallbacks;
    Gauge* allocations_waiting;
    Gauge* servers_alive;
    Gauge* servers_dead;
    Gauge* files;
    Gauge* chunks;
    Gauge* under_replicated;
    Gauge* lost;
    Gauge* recovery_queued;
    Gauge* recovery_in_flight;
    Gauge* gc_pending;
    Gauge* recovery_paused;
    Counter* storms;
    Counter* soft_fault_alerts;
    Gauge* soft_fault_alerts_active;
    Gauge* disks_out_of_service;
    Gauge* servers_slow;
    Gauge* recovery_rate;
    Gauge* recovery_copies_per_server;
    Gauge* foreground_p99;
    Counter* urgent_copies;
    Counter* moves_started;
    Counter* moves_done;
    Counter* spread_repairs;
  } m_;
};

}  // namespace strata::dfs::master
