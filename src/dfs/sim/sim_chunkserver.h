// SimChunkserver: a model of one chunkserver for the dfs simulation
// (dfs_simulation.h). It holds what the real one keeps on its disks — per
// disk, the replica files (chunk id -> length, sealed, epoch) — and plays
// the chunkserver's side of the master protocol: registration, heartbeats
// with disk statistics and replica reports (full every few beats, and one
// of its own for each copy that lands), and the commands the master hands
// out: DELETE, SEAL (truncate to the length and seal) and REPLICATE (a copy
// that takes simulated time and lands only if one of its sources still
// holds the chunk whole at that moment).
//
// Faults are states the simulation sets: down (crashed: nothing runs, the
// copies in flight are lost, the files stay), frozen (as SIGSTOP or a cut
// link: nothing runs or answers until thawed, then it goes on), a failed
// disk (its files cannot be read or reported until the disk returns), a
// slow disk (its write latency an outlier in the statistics it reports), a
// corrupt replica (a copy from it fails; a reader or the scrubber reports
// it) and a wiped disk (a replaced disk: its files are gone).
//
// Thread-safety: single-threaded (the simulation is). Ownership: a value.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "chunkserver.pb.h"
#include "master.pb.h"

namespace strata::dfs::sim {

struct SimReplica {
  uint64_t length = 0;
  bool sealed = false;
  uint64_t epoch = 0;
  bool corrupt = false;  // bytes rotted on the disk: every read of it fails its CRC check
};

struct SimDisk {
  bool failed = false;
  bool slow = false;  // writes take 200 ms (a fail-slow disk), reported in its statistics
  std::map<uint64_t, SimReplica> files;
};

class SimChunkserver {
 public:
  enum class State { kUp, kDown, kFrozen };

  SimChunkserver(std::string id, std::string rack, int disks);

  const std::string& id() const { return id_; }
  const std::string& rack() const { return rack_; }
  State state() const { return state_; }
  bool running() const { return state_ == State::kUp; }
  std::vector<SimDisk>& disks() { return disks_; }
  const std::vector<SimDisk>& disks() const { return disks_; }

  // Faults and their end.
  void Crash();    // down; copies in flight lost; must register again
  void Restart();  // up again, registering first
  void Freeze() { state_ = State::kFrozen; }
  void Thaw() { state_ = State::kUp; }

  // Registration is due (a new process, or the master asked for it).
  bool needs_register() const { return needs_register_; }
  void set_needs_register() { needs_register_ = true; }
  RegisterRequest MakeRegister() const;
  void Registered() { needs_register_ = false; }

  // A heartbeat: disk statistics, copies in flight and, when `full`, every
  // replica on a disk that is not failed.
  HeartbeatRequest MakeHeartbeat(bool full) const;
  // A heartbeat of its own that reports just-landed copies.
  HeartbeatRequest MakeLandedReport(const std::vector<ReplicaReport>& landed) const;

  // Carries out a command of the master at `step`; a REPLICATE lands at
  // `step + delay_steps`.
  void Apply(const ChunkCommand& cmd, uint64_t step, uint64_t delay_steps);

  // The copies due by `step`: each lands if `source_holds(server, chunk,
  // length)` says one of its sources has the chunk sealed at that length;
  // the replicas that landed, for the master.
  std::vector<ReplicaReport> FinishCopies(
      uint64_t step, const std::function<bool(const std::string&, uint64_t, uint64_t)>& source_holds);

  // The replica of `chunk` on a disk that is not failed; null when none.
  const SimReplica* Readable(uint64_t chunk, uint32_t* disk = nullptr) const;
  // Writes a new (unsealed) replica, as a writer's appends do; false when
  // the server does not run or the disk failed.
  bool WriteReplica(uint32_t disk, uint64_t chunk, uint64_t length, uint64_t epoch);
  size_t copies_in_flight() const { return copies_.size(); }

 private:
  struct Copy {
    ChunkCommand cmd;
    uint64_t due_step = 0;
  };
  std::string id_;
  std::string rack_;
  State state_ = State::kUp;
  bool needs_register_ = true;
  std::vector<SimDisk> disks_;
  std::vector<Copy> copies_;
};

}  // namespace strata::dfs::sim
