// DfsClient: the library applications use to talk to a Strata dfs cluster.
//
// Namespace operations go to the master; data goes directly between the
// client and chunkservers (FileWriter, FileReader). Calls to the master are
// retried on Unavailable/DeadlineExceeded for up to `master_retry_ms_max`, so
// a master restart in the middle of a job is ridden out; after that the
// caller gets the error. A master that never answered this client is given
// only `master_first_contact_ms_max` (a wrong address fails fast).
//
// The bound is per outage, not per call: calls that follow each other while
// the master does not answer (one starting within kOutageGapMs of the last
// failure) share one budget, counted from the first failure. So a job that
// makes several calls after the master died (a put seals, then removes its
// temporary file) fails once the budget is spent, not after one budget per
// call; a call made once it is spent still tries once. Any answer ends the
// outage.
//
// Several masters (one leader on etcd, standbys: docs/etcd.md): `master` may
// list them, "a:7000,b:7000,c:7000". A call goes to the one that answered
// last; a standby's NotLeader redirect is followed at once, an unreachable
// master makes the call try the next address (rpc/leader_endpoints.h), all
// within the same budget. A NotLeader counts as a master that answered (the
// full `master_retry_ms_max` budget applies, an election may be under way).
//
// Thread-safety: thread-safe. Ownership: owns its RpcClient; writers and
// readers it creates borrow the DfsClient, which must outlive them.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "env/clock.h"
#include "master.pb.h"
#include "rpc/client.h"
#include "rpc/leader_endpoints.h"

namespace strata::dfs {

struct DfsClientOptions {
  std::string master;                  // host:port, or a comma-separated list of the masters
  uint32_t rpc_timeout_ms = 10000;     // one call to a master or chunkserver
  uint32_t master_retry_ms_max = 60000;        // once the master has answered
  uint32_t master_first_contact_ms_max = 3000;  // before it ever answered: fail fast
  uint32_t replica_lag_ms_max = 2000;  // a replica this far behind is dropped (chunk sealed)
  std::shared_ptr<const rpc::RpcAuth> auth;  // the cluster secret (rpc/auth.h); null: authentication off
  // Times the master retries and waits between them (a ManualClock in
  // tests); null: the system clock. Must outlive the client.
  Clock* clock = nullptr;
};

struct CreateOptions {
  uint32_t replication = 0;  // 0: master default
  uint32_t min_copies = 0;
  uint64_t chunk_size = 0;
  Durability durability = DURABILITY_SYNC;
  bool overwrite = false;
  // A scratch file that lives only as long as its writer's lease: removed by
  // the master if the writer is gone before the file was renamed (a put's
  // hidden temporary name). Create, OpenWriter, Close and Rename must follow
  // each other within the lease; while the writer is open it renews.
  bool temporary = false;
};

class FileWriter;
class FileReader;

class DfsClient {
 public:
  explicit DfsClient(DfsClientOptions options);
  ~DfsClient();

  Status Mkdir(const std::string& path, bool parents);
  Result<FileInfo> Create(const std::string& path, const CreateOptions& options);
  Result<StatResponse> Stat(const std::string& path);
  Result<std::vector<FileInfo>> List(const std::string& path);
  // Replaces an existing file at `to` only with `replace`.
  Status Rename(const std::string& from, const std::string& to, bool replace = false);
  Status Delete(const std::string& path, bool recursive);
  Result<std::string> ClusterStatusJson();

  // Opens `path` (which must exist) as its single writer; an earlier writer
  // is fenced off.
  Result<std::unique_ptr<FileWriter>> OpenWriter(const std::string& path);
  Result<std::unique_ptr<FileReader>> OpenReader(const std::string& path);

  // Calls a master method, retrying transient failures (see above).
  Status CallMaster(MasterMethod method, const google::protobuf::Message& req, google::protobuf::Message* resp);
  // InvalidArgument when `st` shows that `addr` is not a master.
  Status NotAMaster(const std::string& addr, const Status& st) const;
  // The masters and which of them calls go to (shared with lease renewers).
  rpc::LeaderEndpoints* masters() { return &masters_; }

  rpc::RpcClient& rpc() { return rpc_; }
  const DfsClientOptions& options() const { return options_; }
  Clock* clock() const { return clock_; }

 private:
  DfsClientOptions options_;
  rpc::RpcClient rpc_;
  rpc::LeaderEndpoints masters_;
  std::atomic<bool> master_reached_{false};

  // When the current outage began (the first failed attempt of a run of
  // calls without an answer) and when its latest attempt failed.
  // Times are the clock's microseconds.
  static constexpr uint32_t kOutageGapMs = 1000;  // the longest backoff between retries
  uint64_t OutageStart(uint64_t now_us);
  void NoteFailure(uint64_t start_us, uint64_t now_us);
  void NoteAnswer();
  Clock* clock_;
  std::mutex outage_mu_;
  std::optional<uint64_t> outage_since_us_;  // GUARDED_BY(outage_mu_)
  uint64_t outage_last_failure_us_ = 0;      // GUARDED_BY(outage_mu_)
};

}  // namespace strata::dfs
