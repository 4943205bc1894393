// Catalog: the master's persisted metadata (inodes, chunks, the deleted-chunk
// queue, chunkserver identities, id counters) held in memory with the
// indexes the master needs, and kept identical to the MetaStore.
//
// Every change is a Mutation: a list of record puts and deletes. Commit()
// writes the mutation to the MetaStore as one atomic, synced batch and only
// then applies the same records to memory, and Load() applies every stored
// record through the same code; so memory never holds anything the store
// does not, and a restart rebuilds exactly what was acknowledged. Callers
// validate before they build a mutation; a failed Commit leaves memory as it
// was.
//
// Thread-safety: not thread-safe; the master service serializes access.
// Ownership: borrows the MetaStore, which must outlive the catalog.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "common/result.h"
#include "master_records.pb.h"
#include "meta/meta_store.h"

namespace strata::dfs::master {

inline constexpr uint64_t kRootInode = 1;

class Mutation {
 public:
  struct DeleteInodeOp { uint64_t inode; };
  struct DeleteChunkOp { uint64_t chunk_id; };
  struct DeleteGcOp { uint64_t chunk_id; };
  using Op = std::variant<InodeRecord, DeleteInodeOp, ChunkRecord, DeleteChunkOp, GcRecord, DeleteGcOp,
                          ServerRecord, CountersRecord>;

  void PutInode(const InodeRecord& r) { ops_.emplace_back(r); }
  void DeleteInode(uint64_t inode) { ops_.emplace_back(DeleteInodeOp{inode}); }
  void PutChunk(const ChunkRecord& r) { ops_.emplace_back(r); }
  void DeleteChunk(uint64_t id) { ops_.emplace_back(DeleteChunkOp{id}); }
  void PutGc(const GcRecord& r) { ops_.emplace_back(r); }
  void DeleteGc(uint64_t id) { ops_.emplace_back(DeleteGcOp{id}); }
  void PutServer(const ServerRecord& r) { ops_.emplace_back(r); }
  void PutCounters(const CountersRecord& r) { ops_.emplace_back(r); }

  bool empty() const { return ops_.empty(); }
  const std::vector<Op>& ops() const { return ops_; }

 private:
  std::vector<Op> ops_;
};

class Catalog {
 public:
  explicit Catalog(meta::MetaStore* store) : store_(store) {}

  // Reads every record; creates the root directory and counters on first
  // use, and takes `new_cluster_id` as the cluster id if none is stored yet.
  Status Load(uint64_t now_wall_us, const std::string& new_cluster_id);
  // Persists `m` atomically and durably, then applies it to memory.
  Status Commit(const Mutation& m);

  const InodeRecord* FindInode(uint64_t inode) const;
  // Children of a directory by name; empty when it has none.
  const std::map<std::string, uint64_t>& Children(uint64_t dir) const;
  const ChunkRecord* FindChunk(uint64_t id) const;
  const std::unordered_map<uint64_t, InodeRecord>& inodes() const { return inodes_; }
  const std::map<uint64_t, ChunkRecord>& chunks() const { return chunks_; }
  const std::map<uint64_t, GcRecord>& gc() const { return gc_; }
  const std::map<std::string, ServerRecord>& servers() const { return servers_; }
  const CountersRecord& counters() const { return counters_; }
  const std::string& cluster_id() const { return counters_.cluster_id(); }
  // Chunk ids with a replica on `server_id`.
  const std::set<uint64_t>& ChunksOn(const std::string& server_id) const;

  uint64_t file_count() const { return file_count_; }
  uint64_t dir_count() const { return dir_count_; }

  static std::string InodeKey(uint64_t inode);
  static std::string ChunkKey(uint64_t id);
  static std::string GcKey(uint64_t id);
  static std::string ServerKey(const std::string& id);

 private:
  Status LoadPrefix(const std::string& prefix);
  Status ApplyStored(std::string_view key, std::string_view value);
  void Apply(const Mutation::Op& op);
  void ApplyInode(const InodeRecord& r);
  void ApplyDeleteInode(uint64_t inode);
  void ApplyChunk(const ChunkRecord& r);
  void ApplyDeleteChunk(uint64_t id);
  void IndexReplicas(const ChunkRecord& r, bool add);
  static void Encode(const Mutation::Op& op, meta::WriteBatch* batch);

  meta::MetaStore* store_;
  std::unordered_map<uint64_t, InodeRecord> inodes_;
  std::unordered_map<uint64_t, std::map<std::string, uint64_t>> children_;
  std::map<uint64_t, ChunkRecord> chunks_;
  std::map<uint64_t, GcRecord> gc_;
  std::map<std::string, ServerRecord> servers_;
  std::unordered_map<std::string, std::set<uint64_t>> server_chunks_;
  CountersRecord counters_;
  uint64_t file_count_ = 0;
  uint64_t dir_count_ = 0;
};

}  // namespace strata::dfs::master
