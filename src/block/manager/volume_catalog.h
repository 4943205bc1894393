// VolumeCatalog: the blockmanager's persisted metadata - volumes, their
// segments and owners, blockserver identities, volumes whose dfs data is
// still to be deleted, the shared failure domain and the id counter - held
// in memory with the indexes the manager needs, and kept identical to the
// MetaStore (key layout in manager_records.proto and docs/blockmanager.md).
//
// Every change is a CatalogMutation: a list of record puts and deletes.
// Commit() writes it to the MetaStore as one atomic, synced batch and only
// then applies the same records to memory, and Load() applies every stored
// record through the same code; so memory never holds anything the store
// does not, and a restart rebuilds exactly what was acknowledged. A failed
// Commit leaves memory as it was.
//
// Thread-safety: not thread-safe; the blockmanager service serializes access.
// Ownership: borrows the MetaStore, which must outlive the catalog.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "common/result.h"
#include "manager_records.pb.h"
#include "meta/meta_store.h"

namespace strata::block::manager {

// (volume id, segment index): segments sort by volume, then index.
using SegmentKey = std::pair<uint64_t, uint32_t>;

class CatalogMutation {
 public:
  struct DeleteVolumeOp { uint64_t id; };
  struct DeleteSegmentOp { SegmentKey key; };
  struct DeletePendingOp { uint64_t volume_id; };
  using Op = std::variant<VolumeRecord, DeleteVolumeOp, SegmentRecord, DeleteSegmentOp, BlockServerRecord,
                          PendingDeletionRecord, DeletePendingOp, FailureDomainRecord, CountersRecord>;

  void PutVolume(const VolumeRecord& r) { ops_.emplace_back(r); }
  void DeleteVolume(uint64_t id) { ops_.emplace_back(DeleteVolumeOp{id}); }
  void PutSegment(const SegmentRecord& r) { ops_.emplace_back(r); }
  void DeleteSegment(SegmentKey key) { ops_.emplace_back(DeleteSegmentOp{key}); }
  void PutServer(const BlockServerRecord& r) { ops_.emplace_back(r); }
  void PutPending(const PendingDeletionRecord& r) { ops_.emplace_back(r); }
  void DeletePending(uint64_t volume_id) { ops_.emplace_back(DeletePendingOp{volume_id}); }
  void PutDomain(const FailureDomainRecord& r) { ops_.emplace_back(r); }
  void PutCounters(const CountersRecord& r) { ops_.emplace_back(r); }

  bool empty() const { return ops_.empty(); }
  size_t size() const { return ops_.size(); }
  const std::vector<Op>& ops() const { return ops_; }

 private:
  std::vector<Op> ops_;
};

class VolumeCatalog {
 public:
  explicit VolumeCatalog(meta::MetaStore* store) : store_(store) {}

  // Reads every record and checks that each volume has exactly its
  // segment_count segments (Corruption otherwise); creates the counters on
  // first use (volume ids start at 1).
  Status Load();
  // Persists `m` atomically and durably, then applies it to memory.
  Status Commit(const CatalogMutation& m);

  const VolumeRecord* FindVolume(uint64_t id) const;
  const VolumeRecord* FindVolumeByName(const std::string& name) const;
  const std::map<uint64_t, VolumeRecord>& volumes() const { return volumes_; }
  const SegmentRecord* FindSegment(SegmentKey key) const;
  const std::map<SegmentKey, SegmentRecord>& segments() const { return segments_; }
  // The segments of one volume, in index order.
  std::vector<const SegmentRecord*> SegmentsOf(uint64_t volume_id) const;
  // Keys of the segments `server_id` owns; "" gives those never assigned.
  const std::set<SegmentKey>& SegmentsOwnedBy(const std::string& server_id) const;
  // Ids of the servers owning at least one segment ("" first when some
  // segment has no owner yet).
  std::vector<std::string> Owners() const;
  // Segments owned by each server that owns any.
  std::map<std::string, uint64_t> OwnerLoad() const;
  const std::map<std::string, BlockServerRecord>& servers() const { return servers_; }
  const std::map<uint64_t, PendingDeletionRecord>& pending() const { return pending_; }
  // Empty members until the first segment became restricted.
  const FailureDomainRecord& domain() const { return domain_; }
  const CountersRecord& counters() const { return counters_; }

  static std::string VolumeKey(uint64_t id);
  static std::string SegmentRecordKey(SegmentKey key);
  static std::string ServerKey(const std::string& id);
  static std::string PendingKey(uint64_t volume_id);

 private:
  Status LoadPrefix(const std::string& prefix);
  Status ApplyStored(std::string_view key, std::string_view value);
  Status CheckSegments() const;
  void Apply(const CatalogMutation::Op& op);
  void ApplyVolume(const VolumeRecord& r);
  void ApplyDeleteVolume(uint64_t id);
  void ApplySegment(const SegmentRecord& r);
  void ApplyDeleteSegment(SegmentKey key);
  static void Encode(const CatalogMutation::Op& op, meta::WriteBatch* batch);

  meta::MetaStore* store_;
  std::map<uint64_t, VolumeRecord> volumes_;
  std::map<std::string, uint64_t> names_;  // volume name -> id
  std::map<SegmentKey, SegmentRecord> segments_;
  std::map<std::string, std::set<SegmentKey>> owned_;  // owner id ("" for none) -> segments
  std::map<std::string, BlockServerRecord> servers_;
  std::map<uint64_t, PendingDeletionRecord> pending_;
  FailureDomainRecord domain_;
  CountersRecord counters_;
};

}  // namespace strata::block::manager
