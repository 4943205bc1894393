// CommandQueues: per-chunkserver queues of commands (REPLICATE, DELETE, SEAL)
// waiting for that server's next heartbeat, which drains at most
// `heartbeat_commands_max` of them into its reply.
//
// Each queue is bounded (`queue_max` commands); Push on a full queue refuses
// and the producer retries on a later pass (GC and recovery are idempotent
// and re-derived from the catalog), so a dead or slow server cannot make the
// master's memory grow.
//
// Thread-safety: not thread-safe; the master service serializes access.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "master.pb.h"

namespace strata::dfs::master {

class CommandQueues {
 public:
  explicit CommandQueues(size_t queue_max) : queue_max_(queue_max) {}

  bool HasRoom(const std::string& server_id) const { return Size(server_id) < queue_max_; }
  // False (and nothing queued) when the server's queue is full.
  bool Push(const std::string& server_id, ChunkCommand cmd) {
    auto& q = queues_[server_id];
    if (q.size() >= queue_max_) return false;
    q.push_back(std::move(cmd));
    return true;
  }
  // Removes and returns up to `max` commands for `server_id`, oldest first.
  std::vector<ChunkCommand> Drain(const std::string& server_id, size_t max) {
    std::vector<ChunkCommand> out;
    auto it = queues_.find(server_id);
    if (it == queues_.end()) return out;
    while (!it->second.empty() && out.size() < max) {
      out.push_back(std::move(it->second.front()));
      it->second.pop_front();
    }
    if (it->second.empty()) queues_.erase(it);
    return out;
  }
  // Forgets a server's queue (it died; its work is re-derived later).
  void Clear(const std::string& server_id) { queues_.erase(server_id); }
  size_t Size(const std::string& server_id) const {
    auto it = queues_.find(server_id);
    return it == queues_.end() ? 0 : it->second.size();
  }

 private:
  size_t queue_max_;
  std::map<std::string, std::deque<ChunkCommand>> queues_;
};

}  // namespace strata::dfs::master
