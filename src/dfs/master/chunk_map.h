// ChunkMap: the chunks of files and where their replicas are.
//
// Persisted state lives in the Catalog's ChunkRecords (length, sealed,
// epoch, replica locations); chunk ids come from the catalog's persisted
// counter, so an id is never reused, even across a crash. What the master
// only learns from chunkservers stays here, in memory: the lengths replicas
// report for chunks still open (the master's view of a file being written)
// and when a chunk was sealed (to give a lagging replica a grace period).
//
// A chunk is open until sealed at its final length; only the last chunk of a
// file may be open. Its file_offset is fixed at allocation (the previous
// chunk's offset plus its sealed length).
//
// Thread-safety: not thread-safe; the master service serializes access.
// Ownership: borrows the catalog and the clock.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "dfs/master/catalog.h"
#include "dfs/master/placement.h"
#include "env/clock.h"
#include "dfs_common.pb.h"

namespace strata::dfs::master {

class ChunkMap {
 public:
  ChunkMap(Catalog* catalog, const Clock* clock) : catalog_(catalog), clock_(clock) {}

  // Appends a new open chunk to `file` on `replicas` (persisted with the
  // file's chunk list and the id counter).
  Result<ChunkRecord> Allocate(const InodeRecord& file, const std::vector<PlacementChoice>& replicas);
  // Seals an open chunk at `length`; `epoch` (if larger) becomes its epoch.
  Result<ChunkRecord> Seal(uint64_t chunk_id, uint64_t length, uint64_t epoch);

  // The last chunk of `file`, or nullptr.
  const ChunkRecord* LastChunk(const InodeRecord& file) const;
  // Open: the length at least min(min_copies, reports) replicas reported.
  // Sealed: the sealed length.
  uint64_t KnownLength(const ChunkRecord& c, uint32_t min_copies) const;
  uint64_t FileSize(const InodeRecord& file) const;

  void NoteReportedLength(uint64_t chunk_id, const std::string& server, uint64_t length);
  // The lengths replicas reported for an open chunk.
  const std::map<std::string, uint64_t>* ReportedLengths(uint64_t chunk_id) const;
  bool SealedWithin(uint64_t chunk_id, uint64_t micros) const;
  void Forget(uint64_t chunk_id);
  // Drops seal times older than `micros` (bounds the map).
  void PruneSealTimes(uint64_t micros);

  static bool HasReplica(const ChunkRecord& c, const std::string& server);
  static ChunkRecord WithoutReplica(ChunkRecord c, const std::string& server);
  static ChunkRecord WithReplica(ChunkRecord c, const std::string& server, uint32_t disk);
  // The same record with `server`'s replica on `disk` (a chunkserver may
  // place a replica on another disk than the one asked for).
  static ChunkRecord WithReplicaDisk(ChunkRecord c, const std::string& server, uint32_t disk);
  static bool ReplicaDiskDiffers(const ChunkRecord& c, const std::string& server, uint32_t disk);

 private:
  Catalog* catalog_;
  const Clock* clock_;
  std::map<uint64_t, std::map<std::string, uint64_t>> reported_;  // open chunks
  std::map<uint64_t, uint64_t> sealed_at_us_;
};

}  // namespace strata::dfs::master
