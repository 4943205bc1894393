// BlockManagerService: the blockmanager's RPC methods (proto/block.proto,
// BlockManagerMethod) and its periodic work, independent of the transport
// so that tests call it directly with a ManualClock and a MemoryMetaStore.
//
// It owns the manager's state: the VolumeCatalog (volumes, segments and
// their owners, blockserver identities, pending dfs deletions, the shared
// failure domain - all persisted), BlockServerMembership (soft), and the
// segment reports of the latest heartbeats (soft). Every decision that
// changes a record - a volume created, grown or deleted, a segment placed
// or moved with its epoch bumped, the failure domain formed or changed - is
// committed to the MetaStore (one synced batch) before the method returns,
// so no heartbeat answer or client reply ever announces what a crash could
// take back.
//
// Tick() runs the periodic work: declares silent blockservers dead, moves
// their segments (segment_assignment.h), gives unassigned segments an owner,
// and deletes the dfs directories of deleted volumes once every lease that
// named their segments has run out, retrying every dfs_delete_retry_ms
// until the dfs confirms. The dfs calls are made without the lock.
//
// Thread-safety: thread-safe; one mutex serializes the methods, and Tick
// calls are serialized among themselves. Ownership: borrows the store,
// clock, deleter and metrics registry, which must outlive it.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "block.pb.h"
#include "block/manager/blockmanager_options.h"
#include "block/manager/blockserver_membership.h"
#include "block/manager/segment_assignment.h"
#include "block/manager/volume_catalog.h"
#include "block/manager/volume_data_deleter.h"
#include "common/metrics.h"
#include "common/result.h"
#include "env/clock.h"
#include "meta/meta_store.h"

namespace strata::block::manager {

class BlockManagerService {
 public:
  BlockManagerService(meta::MetaStore* store, Clock* clock, VolumeDataDeleter* deleter, MetricsRegistry* metrics,
                      BlockManagerOptions options);

  // Loads the persisted state; call once before anything else.
  Status Start();

  Status CreateVolume(const CreateVolumeRequest& req, CreateVolumeResponse* resp);
  Status ListVolumes(const ListVolumesRequest& req, ListVolumesResponse* resp);
  Status GetVolume(const GetVolumeRequest& req, GetVolumeResponse* resp);
  Status ResizeVolume(const ResizeVolumeRequest& req, ResizeVolumeResponse* resp);
  Status DeleteVolume(const DeleteVolumeRequest& req, DeleteVolumeResponse* resp);
  Status Register(const BmRegisterRequest& req, BmRegisterResponse* resp);
  Status Heartbeat(const BmHeartbeatRequest& req, BmHeartbeatResponse* resp);
  Status GetStatus(const BmStatusRequest& req, BmStatusResponse* resp);

  void Tick();
  nlohmann::json StatusJson();
  // The address clients use for this manager, shown in status.
  void SetAdvertisedAddress(std::string addr);

 private:
  // A pending deletion the tick is about to attempt.
  struct DueDeletion {
    uint64_t volume_id = 0;
    std::string dfs_path;
  };
  // What the tick remembers of failed attempts (soft state).
  struct DeletionAttempts {
    uint64_t attempts = 0;
    uint64_t next_attempt_us = 0;  // monotonic
    std::string last_error;
  };

  // Volumes (blockmanager_service.cc).
  Result<GeometryRecord> RequestedGeometry(const VolumeGeometry& g) const;
  Result<uint64_t> CheckedSize(uint64_t size_bytes, const GeometryRecord& g, uint64_t* segments) const;
  const VolumeRecord* FindByName(const std::string& name) const;
  Status AddSegments(const VolumeRecord& v, uint32_t from, uint32_t to, CatalogMutation* m) const;
  VolumeInfo ToVolumeInfo(const VolumeRecord& v) const;
  SegmentInfo ToSegmentInfo(const SegmentRecord& s) const;

  // Assignment (blockmanager_assignment.cc). REQUIRES: mu_ held.
  SegmentAssigner MakeAssigner() const;
  // Places never-assigned segments and moves those of gone owners.
  void ReassignLocked();
  std::vector<DueDeletion> DueDeletionsLocked();
  void FinishDeletions(const std::vector<DueDeletion>& due, const std::vector<Status>& results);
  void UpdateGaugesLocked();

  // Status (blockmanager_status.cc). REQUIRES: mu_ held.
  nlohmann::json ServersJson() const;
  nlohmann::json VolumesJson() const;
  nlohmann::json SegmentsJson() const;
  nlohmann::json PendingJson() const;

  BlockManagerOptions options_;
  AssignmentPolicy policy_;
  GeometryRecord default_geometry_;
  Clock* clock_;
  VolumeDataDeleter* deleter_;
  MetricsRegistry* metrics_;

  std::mutex tick_mu_;  // one Tick at a time; taken before mu_
  std::mutex mu_;
  VolumeCatalog catalog_;                                   // GUARDED_BY(mu_)
  BlockServerMembership membership_;                        // GUARDED_BY(mu_)
  std::map<SegmentKey, SegmentReport> reports_;             // GUARDED_BY(mu_); from the owner at its epoch
  std::map<uint64_t, DeletionAttempts> deletion_attempts_;  // GUARDED_BY(mu_)
  std::string advertised_addr_;                             // GUARDED_BY(mu_)
  uint64_t started_us_ = 0;

  struct Metrics {
    Gauge* volumes;
    Gauge* segments;
    Gauge* segments_unassigned;
    Gauge* segments_restricted;
    Gauge* servers_alive;
    Gauge* servers_dead;
    Gauge* pending_deletions;
    Counter* segment_moves;
    Counter* heartbeats;
    Counter* servers_died;
    Counter* dfs_deletes_failed;
  } m_;
};

}  // namespace strata::block::manager
