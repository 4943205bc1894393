// Lazy garbage collection of deleted chunks.
//
// Deleting a file only retires its chunks: each chunk record is replaced, in
// the same atomic mutation as the namespace change, by a GcRecord listing the
// servers that hold a replica. GcDispatcher later turns GcRecords into DELETE
// commands queued for those servers (bounded per pass) and drops each record
// once every server has been told. A server that was down at that time still
// reports the replica when it comes back; the master no longer knows that
// chunk and answers with a DELETE (see reconcile.h), so nothing leaks.
//
// Thread-safety: not thread-safe; the master service serializes access.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dfs/master/catalog.h"
#include "dfs/master/command_queue.h"

namespace strata::dfs::master {

// Adds to `m` the retirement of `chunk_ids` (chunk record -> GcRecord).
void RetireChunks(const Catalog& catalog, const std::vector<uint64_t>& chunk_ids, Mutation* m);

class GcDispatcher {
 public:
  GcDispatcher(Catalog* catalog, CommandQueues* queues) : catalog_(catalog), queues_(queues) {}

  // Queues DELETE commands for up to `records_max` pending GcRecords, for the
  // servers whose queues have room. Servers for which `gone` is true (dead)
  // are dropped from the records without a command: if they come back,
  // reconciliation deletes the replicas of chunks the master no longer knows.
  // Returns the number of commands queued.
  Result<size_t> Dispatch(size_t records_max, const std::function<bool(const std::string&)>& gone);

 private:
  Catalog* catalog_;
  CommandQueues* queues_;
};

}  // namespace strata::dfs::master
