// The dfs simulation: one seed decides a whole run of the real master code
// (MasterService, on an in-memory MetaStore, with a ManualClock) against
// model chunkservers (sim_chunkserver.h) and writers, under faults, and an
// oracle says whether the run kept its promises.
//
// Each step is one simulated second: faults may start or end, writers
// create files, write chunks (a chunk is acknowledged once at least
// min_copies replicas hold it and the master sealed it), close, delete, or
// die with a chunk half written (the master's lease expiry seals it); every
// running chunkserver finishes its due copies, beats and carries out the
// commands it gets; the master ticks. Faults, at most `unavailable_max` at
// once (servers down or frozen plus failed or slow disks): a chunkserver
// crashes and restarts, freezes and thaws (SIGSTOP, a cut link), a disk
// fails and comes back intact or replaced empty, a disk turns slow (an
// outlier write latency) and fast again; and at any time the master
// restarts (all its memory lost, its store kept), a heartbeat or its answer
// (with the commands in it) is lost on the network, or a copy of a chunk rots
// (readers and scrubbers report it when they meet it). A disk is replaced
// only while every chunk it holds has two copies elsewhere, and a copy rots
// only when two others are sound, so data loss is never the faults' doing
// alone.
//
// The oracle checks, after every step, that every acknowledged chunk has at
// least one whole copy somewhere (on any disk, of any server, down or not);
// and, once the faults stop and everything is healed, that the cluster
// becomes whole within `heal_steps_max`: nothing under-replicated or in
// flight, every chunk of every file with exactly its replication of listed
// replicas in distinct racks, each really there at its length, no copy
// left of a deleted chunk and no unlisted surplus.
//
// Runs are deterministic: the same options give the same trace.
//
// Thread-safety: RunDfsSimulation is reentrant (each run owns its world).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace strata::dfs::sim {

struct DfsSimulationOptions {
  uint64_t seed = 1;
  int chunkservers = 6;
  int racks = 3;
  int disks_per_chunkserver = 2;
  int writers = 3;
  uint64_t fault_steps = 300;      // simulated seconds of load and faults
  uint64_t heal_steps_max = 900;   // then, to become whole
  uint32_t unavailable_max = 2;    // servers down or frozen plus failed or slow disks, at once
  double fault_probability = 0.08;  // per step, that a fault starts
  // While faults run: that a heartbeat is lost on its way to the master,
  // and again that its answer (the commands handed out) is lost on the way back.
  double message_loss_probability = 0.02;
  // Test hook: halfway through, every copy of one acknowledged chunk is
  // destroyed behind the master's back; the oracle must report it.
  bool plant_lost_chunk = false;
  // When set, every change of this chunk's replica list goes into the trace.
  uint64_t watch_chunk = 0;
};

struct DfsSimulationResult {
  bool ok = true;
  std::string failure;              // what the oracle found
  uint64_t faults = 0;
  uint64_t acknowledged_chunks = 0;
  uint64_t steps = 0;               // fault steps plus the steps it took to heal
  std::vector<std::string> trace;   // what happened, step by step (faults, checks)
};

DfsSimulationResult RunDfsSimulation(const DfsSimulationOptions& options);

}  // namespace strata::dfs::sim
