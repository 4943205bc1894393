// BlockServerMembership: the blockservers the manager knows and whether each
// is alive.
//
// Identities (id, address) are persisted in the VolumeCatalog, so that after
// a manager restart the owners named by segment records still have an
// address to show. Liveness is soft state: after a restart every known
// server is kUnknown - it keeps its segments but gets no new ones - until it
// registers again (its first heartbeat to the new manager is answered
// `reregister`). A server silent for longer than `dead_after_ms` (for
// kUnknown: since the manager started) is declared kDead by DetectDead, and
// the caller then moves its segments. Because dead_after_ms exceeds lease_ms
// + heartbeat_interval_ms, a server is declared dead only after the lease of
// its last answered heartbeat has run out.
//
// Thread-safety: not thread-safe; the blockmanager service serializes access.
// Ownership: borrows the catalog and the clock.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "block.pb.h"
#include "block/manager/blockmanager_options.h"
#include "block/manager/volume_catalog.h"
#include "common/result.h"
#include "env/clock.h"

namespace strata::block::manager {

enum class Liveness { kUnknown, kAlive, kDead };
const char* LivenessName(Liveness l);

inline constexpr size_t kServerIdBytesMax = 128;
inline constexpr size_t kServerAddrBytesMax = 256;

struct BlockServerState {
  BlockServerRecord record;
  Liveness liveness = Liveness::kUnknown;
  uint64_t last_heartbeat_us = 0;  // monotonic; for kUnknown the manager's start
  uint64_t registered_us = 0;      // monotonic; 0 until it registers
  uint64_t heartbeats = 0;
};

class BlockServerMembership {
 public:
  BlockServerMembership(VolumeCatalog* catalog, const Clock* clock, const BlockManagerOptions& options);

  // Adds every server of the catalog as kUnknown.
  void LoadFromCatalog();
  // A (re)registration: persists the identity if new or changed and marks
  // the server alive. AlreadyExists when the id belongs to a live server at
  // another address (a second process with the same id).
  Status Register(const BmRegisterRequest& req);
  // Records a heartbeat; false when the server must register again (never
  // registered with this manager, or declared dead).
  bool Heartbeat(const std::string& server_id);
  // Declares dead every server silent for longer than dead_after_ms;
  // returns the ids newly declared dead.
  std::vector<std::string> DetectDead();

  const BlockServerState* Find(const std::string& id) const;
  const std::map<std::string, BlockServerState>& servers() const { return servers_; }
  bool IsAlive(const std::string& id) const;
  // Dead, or not known at all: its segments must move.
  bool IsGone(const std::string& id) const;
  std::vector<std::string> AliveIds() const;
  size_t alive_count() const;

 private:
  VolumeCatalog* catalog_;
  const Clock* clock_;
  BlockManagerOptions options_;
  std::map<std::string, BlockServerState> servers_;
};

}  // namespace strata::block::manager
