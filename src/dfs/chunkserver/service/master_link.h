// MasterLink: the chunkserver's side of membership — register with the
// master, heartbeat every interval with disk statistics (and, on the first
// heartbeat after registering, every `full_report_every`th one and whenever
// the placement changed behind the master's back — a disk failed, a chunk
// went to another disk than asked — the full list of trusted replicas), and carry out the ChunkCommands the master returns:
// they run in order on a thread of their own, so that a seal or delete that
// waits for a slow or hung disk never holds up the heartbeats (the master
// would take this server for dead): REPLICATE is queued on the Replicator
// (asynchronous, within its limits), DELETE and SEAL run on the store. At
// most kCommandsQueuedMax wait; the master sends again what is still due.
//
// A copy that lands is reported at once, in a heartbeat of its own (no disk
// statistics, not a full report: the replica alone), from the replicator's
// worker: the master records the replica, frees the copy's slots and answers
// with the next commands, so recovery is paced by the copies themselves and
// the master's limits, not by the heartbeat interval. Calls to the master go
// one at a time (a report never overtakes a full report taken before it).
//
// Replicas found corrupt (by reads, copies or the scrubber) are queued with
// ReportCorruption() and sent as MASTER_REPORT_BAD_REPLICA after the next
// heartbeat; the queue is bounded and a chunk is queued once.
//
// Registration sends the disk ids, and the master's answer carries its
// cluster id, which the store's disks adopt or, if they belong to another
// cluster, refuse (ChunkStore::AdoptCluster) before the first heartbeat.
//
// The link registers again when the master asks (reregister), when it
// rejects a heartbeat (it does not know this server, e.g. after a restart),
// and after any failed heartbeat (a master that was unreachable may have
// restarted). Registration is retried with a bounded backoff.
//
// Several masters (one leader on etcd, docs/etcd.md): `options.master` may
// list them ("a,b,c"). Calls go to the one that answered last; a standby's
// NotLeader redirect, or a master that does not answer, moves the link to
// the leader it names or the next address (rpc/leader_endpoints.h), and the
// link registers there at once instead of backing off, until a whole round
// of the list failed.
//
// Thread-safety: Start/Stop from one thread; the loop and the commands run
// on threads of their own.
// Ownership: borrows the store, replicator and RPC client, which must outlive
// it; Stop() before destroying them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "dfs/chunkserver/service/chunkserver_options.h"
#include "dfs/chunkserver/service/replicator.h"
#include "dfs/chunkserver/store/chunk_store.h"
#include "env/clock.h"
#include "master.pb.h"
#include "rpc/client.h"
#include "rpc/leader_endpoints.h"

namespace strata::dfs {

struct MasterLinkIdentity {
  std::string server_id;
  std::string addr;       // host:port of this server's RPC endpoint
  std::string http_addr;  // host:port of its admin HTTP endpoint
  std::string rack;
  std::vector<std::string> disk_media;  // per disk index: "ssd", "hdd" or ""
};

class MasterLink {
 public:
  MasterLink(const ChunkserverOptions& options, MasterLinkIdentity identity, ChunkStore* store,
             Replicator* replicator, rpc::RpcClient* rpc, std::shared_ptr<Clock> clock, MetricsRegistry* metrics);
  ~MasterLink();

  void Start();
  void Stop();

  bool registered() const { return registered_.load(); }
  uint64_t heartbeats_sent() const { return heartbeats_.load(); }

  // Queues a report that this server's replica of `chunk_id` is corrupt.
  // Thread-safe; never blocks on the network.
  void ReportCorruption(uint64_t chunk_id, const std::string& reason);

  // One step each, for tests and the loop.
  Status Register();
  Status Heartbeat();
  void Execute(const ChunkCommand& command);
  // Queues a command for the command thread (Heartbeat does this).
  void Enqueue(const ChunkCommand& command);
  Status SendCorruptionReports();
  // Reports a copy that landed here (the replicator's listener); a failed
  // copy or a failed call is left to the next full report and the master's
  // poll.
  void ReportCopy(const ReplicateJob& job, const Result<ReplicateResult>& result);

 private:
  void Loop();
  void CommandLoop();
  void SleepMillis(uint64_t ms, bool wake_on_reports = false);
  void FillDisks(google::protobuf::RepeatedPtrField<DiskStat>* out);
  // One call to the current master; a failure moves masters_ on (and sets
  // retry_at_once_ when the next address may be tried without backing off).
  Status CallMaster(uint32_t method, const google::protobuf::Message& req, google::protobuf::Message* resp);

  static constexpr uint64_t kRegisterBackoffMsMax = 5000;
  static constexpr size_t kCorruptionReportsQueuedMax = 1024;
  static constexpr size_t kCommandsQueuedMax = 4096;
  rpc::LeaderEndpoints masters_;
  std::atomic<bool> retry_at_once_{false};
  const uint32_t rpc_timeout_ms_;
  const uint32_t full_report_every_;
  const MasterLinkIdentity identity_;
  ChunkStore* store_;
  Replicator* replicator_;
  rpc::RpcClient* rpc_;
  std::shared_ptr<Clock> clock_;
  std::atomic<uint64_t> interval_ms_;
  std::atomic<bool> registered_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> heartbeats_{0};
  std::mutex calls_mu_;  // one call to the master at a time
  uint64_t since_full_report_ = 0;  // touched only by the loop thread
  uint64_t reported_layout_ = 0;     // the store's LayoutVersion at the last full report
  std::mutex reports_mu_;
  std::map<uint64_t, std::string> corruption_reports_;  // GUARDED_BY(reports_mu_); chunk id -> reason
  std::atomic<bool> reports_pending_{false};  // wakes the loop between heartbeats
  std::thread thread_;
  std::mutex commands_mu_;
  std::condition_variable commands_cv_;
  std::deque<ChunkCommand> queued_commands_;  // GUARDED_BY(commands_mu_)
  bool commands_stopping_ = false;            // GUARDED_BY(commands_mu_)
  std::thread commands_thread_;
  Counter* heartbeat_failures_;
  Counter* commands_;
  Counter* reports_sent_;
};

}  // namespace strata::dfs
