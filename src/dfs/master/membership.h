// Membership: the chunkservers the master knows, their liveness and their
// latest disk statistics.
//
// Identities (id, address, rack) are persisted in the Catalog so that after a
// master restart the replica locations it serves still name reachable
// servers. Liveness is not persisted: a server loaded from the catalog is
// kUnknown (its replicas still count, it gets no new chunks) until it
// registers again; a server whose last heartbeat is older than
// `chunkserver_dead_after_ms` is declared kDead by DetectDead, and the caller
// then drops its replicas. A kUnknown server gets the longer of that and
// `startup_grace_ms` from the master's start: a chunkserver backing off from
// the master's outage (its retries double up to 5 s) may come back a while
// after the master did, and taking it for dead would start copies of
// everything it holds. A dead or
// unknown server that heartbeats is told to register again, which makes it
// send a full replica report.
//
// One id is one process: a registration for the id of a live server is
// refused (AlreadyExists, the live one keeps its address) unless it comes from
// that same server — it shares one of the disk ids the live one registered
// with (a disk is locked by the one process serving it, so a shared disk id
// is a restart, not a second process), or, when neither sent disk ids, it
// comes from the same address. Once the live one is declared dead the id is
// free.
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
#include "dfs/master/master_options.h"
#include "env/clock.h"
#include "master.pb.h"

namespace strata::dfs::master {

enum class Liveness { kUnknown, kAlive, kDead };
const char* LivenessName(Liveness l);

struct ServerState {
  ServerRecord record;
  Liveness liveness = Liveness::kUnknown;
  uint64_t last_heartbeat_us = 0;  // monotonic; for kUnknown the master's start
  std::vector<DiskStat> disks;
  uint32_t copies_in_flight = 0;   // as reported by the server
  uint64_t heartbeats = 0;
  uint64_t registered_us = 0;
  std::vector<std::string> disk_ids;  // as registered; not persisted
};

class Membership {
 public:
  Membership(Catalog* catalog, const Clock* clock, const MasterOptions& options);

  // Adds every server of the catalog as kUnknown.
  void LoadFromCatalog();
  // A (re)registration: persists the identity if new or changed, marks
  // alive. AlreadyExists for a second process with a live server's id.
  Status Register(const RegisterRequest& req);
  // Records a heartbeat; false when the server must register (unknown, dead
  // or never registered since the master started).
  bool Heartbeat(const HeartbeatRequest& req);
  // Declares dead every server silent for longer than the timeout; returns
  // the ids newly declared dead.
  std::vector<std::string> DetectDead();

  const ServerState* Find(const std::string& id) const;
  const std::map<std::string, ServerState>& servers() const { return servers_; }
  bool IsAlive(const std::string& id) const;
  // Alive or not yet heard from since a restart: its replicas count.
  bool CountsReplicas(const std::string& id) const;
  // Whether the server's latest heartbeat reported disk `disk` failed.
  bool DiskFailed(const std::string& id, uint32_t disk) const;
  size_t alive_count() const;

 private:
  static bool SameProcessOrRestart(const ServerState& live, const RegisterRequest& req);

  Catalog* catalog_;
  const Clock* clock_;
  MasterOptions options_;
  std::map<std::string, ServerState> servers_;
};

}  // namespace strata::dfs::master
