// Reconciler: brings the chunk map and a chunkserver's replica report into
// agreement, and says what the chunkserver must do about the difference.
//
// For each replica a server reports:
//   - chunk unknown to the master (deleted, or never allocated): DELETE;
//   - chunk open: its length is noted (the master's view of the file size);
//   - chunk sealed at L, replica sealed at L: good. Not yet in the chunk's
//     list: added if the chunk lacks replicas (a finished recovery copy, or a
//     server back from the dead) or is the target of a balancer move (the
//     caller then drops the move's source), otherwise it is surplus: if
//     its rack holds none of the chunk's live replicas while another rack
//     holds two, it is listed (the caller's refresh then drops one of those
//     two: the rack spread comes back without a copy), else DELETE;
//   - replica unsealed with length >= L: SEAL at L (truncates the tail an
//     old writer left);
//   - replica shorter than L and unsealed, within `seal_grace_ms` of the
//     seal, or the target of a copy in flight: left alone (still catching up);
//   - otherwise (wrong length): removed from the list and DELETE, so that
//     recovery makes a good copy; never the chunk's last listed replica.
// A full report also removes from the lists the replicas of sealed chunks
// the server no longer has (unless sealed within the grace period: the
// report may predate the replica).
//
// A replica on a disk its server reports failed does not count as live and
// is left alone by every rule above: kept in the list when listed (a
// last-resort source: every read checks CRCs), never added when not (a copy
// that landed on a failed disk, or an old file found there, is no new
// replica).
//
// Thread-safety: not thread-safe; the master service serializes access.
// Ownership: borrows everything it is given.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"
#include "dfs/master/catalog.h"
#include "dfs/master/chunk_map.h"
#include "dfs/master/membership.h"
#include "dfs/master/recovery.h"
#include "dfs/master/slow_server.h"
#include "dfs/master/soft_fault.h"
#include "master.pb.h"

namespace strata::dfs::master {

struct ReconcileOutcome {
  std::vector<ChunkCommand> commands;
  std::set<uint64_t> changed;  // chunks whose replica list changed, or whose copy ended
  std::vector<CopyTask> moves_landed;  // balancer moves whose new replica was added
  uint64_t added = 0, removed = 0, deletes = 0, seals = 0;
};

class Reconciler {
 public:
  Reconciler(Catalog* catalog, ChunkMap* chunks, RecoveryQueue* recovery, const Membership* membership,
             const SoftFaultDetector* soft_faults, const SlowServerDetector* slow_servers,
             const MasterOptions& options)
      : catalog_(catalog), chunks_(chunks), recovery_(recovery), membership_(membership), soft_faults_(soft_faults),
        slow_servers_(slow_servers), options_(options) {}

  // Applies `hb`'s report from `server`; persists list changes before returning.
  Result<ReconcileOutcome> Apply(const std::string& server, const HeartbeatRequest& hb);

  // Replicas of `c` on servers that are not dead, on disks that are not
  // failed and on disks and servers in service (not slow: soft_fault.h,
  // slow_server.h).
  uint32_t LiveReplicas(const ChunkRecord& c) const;
  bool IsLive(const ReplicaRecord& r) const;
  // Rack -> live replicas of `c` in it.
  std::map<std::string, uint32_t> LiveRacks(const ChunkRecord& c) const;

 private:
  struct Pending;  // the chunk records being rewritten by one report
  void OneReplica(const std::string& server, const ReplicaReport& r, Pending* p, ReconcileOutcome* out);
  void SealedReplica(const std::string& server, const ReplicaReport& r, const ChunkRecord& c, Pending* p,
                     ReconcileOutcome* out);
  bool RestoresSpread(const std::string& server, const ReplicaReport& r, const ChunkRecord& c, Pending* p,
                      ReconcileOutcome* out);
  void MissingReplicas(const std::string& server, const std::set<uint64_t>& reported, Pending* p,
                       ReconcileOutcome* out);
  static ChunkCommand Command(ChunkCommand::Kind kind, uint64_t chunk_id, uint64_t length, uint64_t epoch);

  Catalog* catalog_;
  ChunkMap* chunks_;
  RecoveryQueue* recovery_;
  const Membership* membership_;
  const SoftFaultDetector* soft_faults_;
  const SlowServerDetector* slow_servers_;
  MasterOptions options_;
};

}  // namespace strata::dfs::master
