#include "dfs/sim/dfs_simulation.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "common/metrics.h"
#include "dfs/master/master_service.h"
#include "dfs/sim/sim_chunkserver.h"
#include "env/clock.h"
#include "env/random.h"
#include "meta/memory_meta_store.h"

namespace strata::dfs::sim {
namespace {

constexpr uint64_t kStepMicros = 1'000'000;
constexpr uint64_t kFullReportEverySteps = 10;
constexpr uint64_t kChunkBytes = 1 << 20;
constexpr uint32_t kReplication = 3;
constexpr uint32_t kMinCopies = 2;
constexpr uint64_t kWholeCheckEverySteps = 5;
constexpr uint32_t kScrubsPerStep = 4;  // replicas a scrubber checks per second

master::MasterOptions SimMasterOptions() {
  master::MasterOptions o;
  o.heartbeat_interval_ms = 1000;
  o.chunkserver_dead_after_ms = 5000;
  // One thread moves the clock and calls the master: an allocation must
  // never wait for a registration that same thread would make.
  o.startup_grace_ms = 0;
  o.default_chunk_size_bytes = kChunkBytes;
  o.writer_lease_ms = 10000;
  o.seal_grace_ms = 3000;
  o.recovery_copy_timeout_ms = 20000;
  o.recovery_poll_interval_ms = 2000;
  o.recovery_storm_window_ms = 30000;
  o.recovery_storm_pause_ms = 60000;
  o.balance_chunk_cooldown_ms = 60000;
  return o;
}

struct Acked {
  std::string path;
  uint64_t length = 0;
};

struct Writer {
  int id = 0;
  std::string path;  // the file it writes; empty: none
  uint64_t epoch = 0;
  int files_made = 0;
  std::vector<std::string> exclude;  // servers a write failed on
};

struct Fault {
  enum Kind { kCrash, kFreeze, kDiskFail, kSlowDisk } kind = kCrash;
  size_t server = 0;
  uint32_t disk = 0;
  uint64_t end_step = 0;
};

class World;

// The master's calls to chunkservers, answered from the models: a server
// that does not run does not answer.
class ModelChunkserverCalls final : public master::ChunkserverStub {
 public:
  explicit ModelChunkserverCalls(World* world) : world_(world) {}
  std::vector<Result<ChunkInfoResponse>> ChunkInfoEach(const std::vector<master::ChunkQuery>& queries,
                                                       uint32_t timeout_ms) override;
  std::vector<Status> Seal(const std::vector<std::string>& addrs, const SealRequest& req,
                           uint32_t timeout_ms) override;

 private:
  World* world_;
};

class World {
 public:
  explicit World(const DfsSimulationOptions& options)
      : options_(options), random_(options.seed), chunkserver_calls_(this) {
    for (int i = 0; i < options.chunkservers; ++i) {
      servers_.emplace_back(fmt::format("cs{}", i + 1), fmt::format("rack{}", i % options.racks + 1),
                            options.disks_per_chunkserver);
    }
    for (int i = 0; i < options.writers; ++i) writers_.push_back(Writer{i + 1});
  }

  DfsSimulationResult Run();

  SimChunkserver* Find(const std::string& id) {
    for (auto& s : servers_) {
      if (s.id() == id) return &s;
    }
    return nullptr;
  }

 private:
  void StartMaster();
  void Step(bool load);
  void RunServers();
  void Beat(SimChunkserver& s, const HeartbeatRequest& hb);
  void RunWriters();
  void Act(Writer& w);
  void WriteChunk(Writer& w, bool seal);
  void DeleteFile(const std::string& path);
  void MaybeFault();
  void EndFault(const Fault& f, bool allow_replace);
  void ReplaceDisk(size_t server, uint32_t disk);
  bool CanReplace(size_t server, uint32_t disk) const;
  size_t WholeCopies(uint64_t chunk, uint64_t length, size_t skip_server = SIZE_MAX, uint32_t skip_disk = 0) const;
  bool Safe();
  bool Whole(std::string* why);
  void PlantLoss();
  void Corrupt();
  void RunReaders();
  void RunScrubbers();
  void ReportBad(const SimChunkserver& s, uint64_t chunk, const char* why);
  void Watch();
  void Trace(const std::string& what) { result_.trace.push_back(fmt::format("{:>4} {}", step_, what)); }
  void Fail(const std::string& what) {
    if (!result_.ok) return;
    result_.ok = false;
    result_.failure = fmt::format("step {}: {}", step_, what);
    Trace("FAILED: " + what);
  }

  DfsSimulationOptions options_;
  Random random_;
  ManualClock clock_;
  meta::MemoryMetaStore store_;
  ModelChunkserverCalls chunkserver_calls_;
  std::unique_ptr<MetricsRegistry> metrics_;
  std::unique_ptr<master::MasterService> master_;
  std::vector<SimChunkserver> servers_;
  std::vector<Writer> writers_;
  std::vector<Fault> faults_;
  std::vector<std::string> closed_files_;
  std::map<uint64_t, Acked> acked_;  // acknowledged chunks of files not deleted
  std::set<uint64_t> deleted_;       // chunks of deleted files
  std::string watched_;              // the watched chunk's replica list, as last traced
  struct ScrubCursor {
    uint32_t disk = 0;
    uint64_t chunk = 0;  // the last one checked on that disk
  };
  std::map<size_t, ScrubCursor> scrub_;  // per server
  uint64_t step_ = 0;
  bool load_ = false;  // faults and writes run (not healing)
  DfsSimulationResult result_;
};

std::vector<Result<ChunkInfoResponse>> ModelChunkserverCalls::ChunkInfoEach(const std::vector<master::ChunkQuery>& queries,
                                                              uint32_t) {
  std::vector<Result<ChunkInfoResponse>> out;
  for (const auto& q : queries) {
    SimChunkserver* s = world_->Find(q.addr);
    if (!s || !s->running()) {
      out.emplace_back(Status::Unavailable(q.addr + " does not answer"));
      continue;
    }
    uint32_t disk = 0;
    const SimReplica* r = s->Readable(q.chunk_id, &disk);
    if (!r) {
      out.emplace_back(Status::NotFound("no replica of chunk " + std::to_string(q.chunk_id)));
      continue;
    }
    ChunkInfoResponse resp;
    resp.set_length(r->length);
    resp.set_sealed(r->sealed);
    resp.set_epoch(r->epoch);
    resp.set_disk(disk);
    out.emplace_back(resp);
  }
  return out;
}

std::vector<Status> ModelChunkserverCalls::Seal(const std::vector<std::string>& addrs, const SealRequest& req, uint32_t) {
  std::vector<Status> out;
  for (const auto& addr : addrs) {
    SimChunkserver* s = world_->Find(addr);
    if (!s || !s->running()) {
      out.push_back(Status::Unavailable(addr + " does not answer"));
      continue;
    }
    ChunkCommand seal;
    seal.set_kind(ChunkCommand::SEAL);
    seal.set_chunk_id(req.chunk_id());
    seal.set_length(req.length());
    seal.set_epoch(req.epoch());
    s->Apply(seal, 0, 0);
    out.push_back(Status::Ok());
  }
  return out;
}

void World::StartMaster() {
  master_.reset();
  metrics_ = std::make_unique<MetricsRegistry>();
  master_ = std::make_unique<master::MasterService>(&store_, &clock_, &chunkserver_calls_, metrics_.get(), SimMasterOptions(),
                                                    std::make_unique<Random>(random_.Next64()));
  Status st = master_->Start();
  if (!st.ok()) Fail("the master did not start: " + st.ToString());
}

void World::Beat(SimChunkserver& s, const HeartbeatRequest& hb) {
  // The network loses a beat on its way to the master, or its answer (with
  // the commands the master handed out) on the way back.
  if (load_ && random_.Bernoulli(options_.message_loss_probability)) return;
  HeartbeatResponse resp;
  Status st = master_->Heartbeat(hb, &resp);
  if (load_ && random_.Bernoulli(options_.message_loss_probability)) return;
  if (!st.ok()) {
    Trace(fmt::format("{}: heartbeat refused: {}", s.id(), st.ToString()));
    return;
  }
  if (resp.reregister()) s.set_needs_register();
  for (const auto& cmd : resp.commands()) s.Apply(cmd, step_, 1 + random_.Uniform(3));
}

void World::RunServers() {
  for (size_t i = 0; i < servers_.size(); ++i) {
    SimChunkserver& s = servers_[i];
    if (!s.running()) continue;
    bool full = (step_ + i) % kFullReportEverySteps == 0;
    if (s.needs_register()) {
      RegisterResponse resp;
      Status st = master_->Register(s.MakeRegister(), &resp);
      if (!st.ok()) {
        Trace(fmt::format("{}: registration refused: {}", s.id(), st.ToString()));
        continue;
      }
      s.Registered();
      full = true;
    }
    auto landed = s.FinishCopies(step_, [&](const std::string& id, uint64_t chunk, uint64_t length) {
      const SimChunkserver* src = Find(id);
      const SimReplica* r = src && src->running() ? src->Readable(chunk) : nullptr;
      return r && r->sealed && r->length == length && !r->corrupt;  // a copy checks CRCs
    });
    if (!landed.empty()) Beat(s, s.MakeLandedReport(landed));
    Beat(s, s.MakeHeartbeat(full));
  }
}

void World::WriteChunk(Writer& w, bool seal) {
  AllocateChunkRequest req;
  req.set_path(w.path);
  req.set_writer_epoch(w.epoch);
  for (const auto& e : w.exclude) req.add_exclude_servers(e);
  AllocateChunkResponse resp;
  Status st = master_->AllocateChunk(req, &resp);
  if (!st.ok()) {
    w.exclude.clear();  // as the real writer: the excluded ones may be back
    return;
  }
  const ChunkInfo& chunk = resp.chunk();
  const uint64_t length = 4096 * (1 + random_.Uniform(kChunkBytes / 4096));
  uint32_t written = 0;
  for (const auto& loc : chunk.replicas()) {
    SimChunkserver* s = Find(loc.server_id());
    if (s && s->WriteReplica(loc.disk(), chunk.chunk_id(), length, chunk.epoch())) {
      written++;
    } else {
      w.exclude.push_back(loc.server_id());
    }
  }
  if (!seal) {
    Trace(fmt::format("writer {} dies with chunk {} of {} written to {} replicas, unsealed", w.id, chunk.chunk_id(),
                      w.path, written));
    return;
  }
  SealChunkRequest s;
  s.set_path(w.path);
  s.set_writer_epoch(w.epoch);
  s.set_chunk_id(chunk.chunk_id());
  s.set_length(written >= kMinCopies ? length : 0);  // too few copies: given up, empty
  SealChunkResponse sr;
  st = master_->SealChunk(s, &sr);
  if (st.ok() && written >= kMinCopies) acked_[chunk.chunk_id()] = Acked{w.path, length};
  result_.acknowledged_chunks = std::max<uint64_t>(result_.acknowledged_chunks, acked_.size());
}

void World::DeleteFile(const std::string& path) {
  StatRequest sreq;
  sreq.set_path(path);
  StatResponse stat;
  if (!master_->Stat(sreq, &stat).ok()) return;
  DeleteRequest req;
  req.set_path(path);
  DeleteResponse resp;
  if (!master_->Delete(req, &resp).ok()) return;
  for (const auto& c : stat.chunks()) {
    deleted_.insert(c.chunk_id());
    acked_.erase(c.chunk_id());
  }
  Trace("deleted " + path);
}

void World::Act(Writer& w) {
  if (w.path.empty()) {
    if (!closed_files_.empty() && random_.Bernoulli(0.15)) {
      const size_t i = random_.Uniform(closed_files_.size());
      DeleteFile(closed_files_[i]);
      closed_files_.erase(closed_files_.begin() + static_cast<std::ptrdiff_t>(i));
      return;
    }
    std::string path = fmt::format("/w{}-{}", w.id, ++w.files_made);
    CreateRequest c;
    c.set_path(path);
    c.set_replication(kReplication);
    c.set_min_copies(kMinCopies);
    CreateResponse cr;
    if (!master_->Create(c, &cr).ok()) return;
    OpenWriteRequest o;
    o.set_path(path);
    OpenWriteResponse orsp;
    if (!master_->OpenWrite(o, &orsp).ok()) return;
    w.path = path;
    w.epoch = orsp.writer_epoch();
    w.exclude.clear();
    return;
  }
  const uint64_t r = random_.Uniform(100);
  if (r < 75) {
    WriteChunk(w, /*seal=*/true);
  } else if (r < 88) {
    CloseWriteRequest c;
    c.set_path(w.path);
    c.set_writer_epoch(w.epoch);
    CloseWriteResponse cr;
    if (master_->CloseWrite(c, &cr).ok()) closed_files_.push_back(w.path);
    w.path.clear();
  } else if (r < 93) {
    // The writer dies, now or in the middle of a chunk: its lease runs out
    // and the master seals what the replicas hold.
    if (random_.Bernoulli(0.5)) WriteChunk(w, /*seal=*/false);
    w.path.clear();
  }
}

void World::RunWriters() {
  for (auto& w : writers_) {
    if (!w.path.empty()) {
      RenewLeaseRequest req;
      req.set_path(w.path);
      req.set_writer_epoch(w.epoch);
      RenewLeaseResponse resp;
      if (!master_->RenewLease(req, &resp).ok()) w.path.clear();  // taken over: this writer is done
    }
    if (random_.Bernoulli(0.5)) Act(w);
  }
}

size_t World::WholeCopies(uint64_t chunk, uint64_t length, size_t skip_server, uint32_t skip_disk) const {
  size_t n = 0;
  for (size_t i = 0; i < servers_.size(); ++i) {
    const auto& disks = servers_[i].disks();
    for (uint32_t d = 0; d < disks.size(); ++d) {
      if (i == skip_server && d == skip_disk) continue;
      auto it = disks[d].files.find(chunk);
      n += it != disks[d].files.end() && it->second.length == length && !it->second.corrupt;
    }
  }
  return n;
}

bool World::CanReplace(size_t server, uint32_t disk) const {
  for (const auto& [chunk, r] : servers_[server].disks()[disk].files) {
    auto a = acked_.find(chunk);
    if (a != acked_.end() && WholeCopies(chunk, a->second.length, server, disk) < 2) return false;
  }
  return true;
}

void World::ReplaceDisk(size_t server, uint32_t disk) {
  servers_[server].disks()[disk] = SimDisk{};
  Trace(fmt::format("{} disk {} replaced by an empty one", servers_[server].id(), disk));
}

void World::EndFault(const Fault& f, bool allow_replace) {
  SimChunkserver& s = servers_[f.server];
  switch (f.kind) {
    case Fault::kCrash:
      s.Restart();
      Trace(s.id() + " restarts");
      break;
    case Fault::kFreeze:
      s.Thaw();
      Trace(s.id() + " thaws");
      break;
    case Fault::kSlowDisk:
      s.disks()[f.disk].slow = false;
      Trace(fmt::format("{} disk {} is fast again", s.id(), f.disk));
      break;
    case Fault::kDiskFail:
      s.disks()[f.disk].failed = false;
      if (allow_replace && random_.Bernoulli(0.3) && CanReplace(f.server, f.disk)) {
        ReplaceDisk(f.server, f.disk);
      } else {
        Trace(fmt::format("{} disk {} returns", s.id(), f.disk));
      }
      break;
  }
}

void World::MaybeFault() {
  for (size_t i = 0; i < faults_.size();) {
    if (faults_[i].end_step <= step_) {
      EndFault(faults_[i], /*allow_replace=*/true);
      faults_.erase(faults_.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
  if (!random_.Bernoulli(options_.fault_probability)) return;
  result_.faults++;
  const uint64_t kind = random_.Uniform(100);
  const size_t server = random_.Uniform(servers_.size());
  SimChunkserver& s = servers_[server];
  const uint32_t disk = static_cast<uint32_t>(random_.Uniform(s.disks().size()));
  if (kind < 8) {
    Trace("the master restarts");
    StartMaster();
    return;
  }
  if (kind < 16) {
    // A disk swapped while it works (no failure seen first).
    if (s.running() && !s.disks()[disk].failed && CanReplace(server, disk)) ReplaceDisk(server, disk);
    return;
  }
  if (kind < 24) {
    Corrupt();
    return;
  }
  const bool busy = std::any_of(faults_.begin(), faults_.end(), [&](const Fault& f) { return f.server == server; });
  if (faults_.size() >= options_.unavailable_max || busy) return;
  Fault f;
  f.server = server;
  f.disk = disk;
  if (kind < 46) {
    f.kind = Fault::kCrash;
    f.end_step = step_ + 2 + random_.Uniform(40);
    s.Crash();
    Trace(fmt::format("{} crashes until step {}", s.id(), f.end_step));
  } else if (kind < 66) {
    f.kind = Fault::kFreeze;
    f.end_step = step_ + 1 + random_.Uniform(30);
    s.Freeze();
    Trace(fmt::format("{} freezes until step {}", s.id(), f.end_step));
  } else if (kind < 88) {
    f.kind = Fault::kSlowDisk;
    f.end_step = step_ + 10 + random_.Uniform(70);
    s.disks()[disk].slow = true;
    Trace(fmt::format("{} disk {} is slow until step {}", s.id(), disk, f.end_step));
  } else {
    f.kind = Fault::kDiskFail;
    f.end_step = step_ + 5 + random_.Uniform(60);
    s.disks()[disk].failed = true;
    Trace(fmt::format("{} disk {} fails until step {}", s.id(), disk, f.end_step));
  }
  faults_.push_back(f);
}

bool World::Safe() {
  for (const auto& [chunk, a] : acked_) {
    if (WholeCopies(chunk, a.length) == 0) {
      Fail(fmt::format("chunk {} of {} ({} bytes, acknowledged) has no copy left", chunk, a.path, a.length));
      return false;
    }
  }
  return true;
}

bool World::Whole(std::string* why) {
  for (const auto& s : servers_) {
    if (!s.running() || s.needs_register()) {
      *why = s.id() + " is not back";
      return false;
    }
  }
  const nlohmann::json status = master_->StatusJson();
  for (const char* key : {"under_replicated", "lost"}) {
    if (status["chunks"][key].get<uint64_t>() != 0) {
      *why = fmt::format("chunks {} = {}", key, status["chunks"][key].dump());
      return false;
    }
  }
  for (const char* key : {"queued", "in_flight"}) {
    if (status["recovery"][key].get<uint64_t>() != 0) {
      *why = fmt::format("recovery {} = {}", key, status["recovery"][key].dump());
      return false;
    }
  }
  ListRequest lreq;
  lreq.set_path("/");
  ListResponse list;
  if (!master_->List(lreq, &list).ok()) {
    *why = "cannot list /";
    return false;
  }
  std::map<uint64_t, std::set<std::string>> listed;
  std::map<uint64_t, uint64_t> lengths;
  for (const auto& entry : list.entries()) {
    StatRequest sreq;
    sreq.set_path(entry.path());
    StatResponse stat;
    if (!master_->Stat(sreq, &stat).ok()) continue;  // a temporary file the master removed meanwhile
    for (const auto& c : stat.chunks()) {
      lengths[c.chunk_id()] = c.length();
      std::set<std::string> racks;
      for (const auto& r : c.replicas()) {
        listed[c.chunk_id()].insert(r.server_id());
        racks.insert(r.rack());
        SimChunkserver* s = Find(r.server_id());
        const SimDisk* d = s && r.disk() < s->disks().size() ? &s->disks()[r.disk()] : nullptr;
        auto it = d ? d->files.find(c.chunk_id()) : std::map<uint64_t, SimReplica>::const_iterator{};
        if (!d || it == d->files.end() || it->second.length != c.length() || !it->second.sealed ||
            it->second.corrupt) {
          *why = fmt::format("chunk {} of {} lists {} disk {}, which does not hold it sealed and sound at {}",
                             c.chunk_id(), entry.path(), r.server_id(), r.disk(), c.length());
          return false;
        }
      }
      if (!c.sealed()) {
        *why = fmt::format("chunk {} of {} is still open", c.chunk_id(), entry.path());
        return false;
      }
      if (c.length() > 0 && (c.replicas_size() != static_cast<int>(kReplication) || racks.size() != kReplication)) {
        std::string where;
        for (const auto& r : c.replicas()) where += fmt::format(" {}/{}:{}", r.server_id(), r.disk(), r.rack());
        *why = fmt::format("chunk {} of {} has {} replicas in {} racks:{}", c.chunk_id(), entry.path(),
                           c.replicas_size(), racks.size(), where);
        return false;
      }
    }
  }
  for (const auto& [chunk, a] : acked_) {
    auto it = lengths.find(chunk);
    if (it == lengths.end() || it->second != a.length) {
      Fail(fmt::format("acknowledged chunk {} of {} ({} bytes) is not in its file at that length", chunk, a.path,
                       a.length));
      *why = result_.failure;
      return false;
    }
  }
  for (const auto& s : servers_) {
    for (uint32_t d = 0; d < s.disks().size(); ++d) {
      for (const auto& [chunk, r] : s.disks()[d].files) {
        auto it = listed.find(chunk);
        if (it == listed.end() || !it->second.count(s.id())) {
          *why = fmt::format("{} disk {} still holds an unlisted copy of chunk {}{}", s.id(), d, chunk,
                             deleted_.count(chunk) ? " (of a deleted file)" : "");
          return false;
        }
      }
    }
  }
  return true;
}

void World::PlantLoss() {
  if (acked_.empty()) return;
  const uint64_t chunk = acked_.begin()->first;
  for (auto& s : servers_) {
    for (auto& d : s.disks()) d.files.erase(chunk);
  }
  Trace(fmt::format("planted: every copy of chunk {} destroyed", chunk));
}

void World::Watch() {
  std::string now;
  for (const auto& s : servers_) {
    for (uint32_t d = 0; d < s.disks().size(); ++d) {
      if (s.disks()[d].files.count(options_.watch_chunk)) now += fmt::format(" {}/{}", s.id(), d);
    }
  }
  now += " | listed:";
  ListRequest lreq;
  lreq.set_path("/");
  ListResponse list;
  if (master_->List(lreq, &list).ok()) {
    for (const auto& entry : list.entries()) {
      StatRequest sreq;
      sreq.set_path(entry.path());
      StatResponse stat;
      if (!master_->Stat(sreq, &stat).ok()) continue;
      for (const auto& c : stat.chunks()) {
        if (c.chunk_id() != options_.watch_chunk) continue;
        for (const auto& r : c.replicas()) now += fmt::format(" {}/{}", r.server_id(), r.disk());
      }
    }
  }
  if (now == watched_) return;
  watched_ = now;
  Trace(fmt::format("chunk {} on disks:{}", options_.watch_chunk, now));
}

// Rots one copy of an acknowledged chunk that has three whole ones.
void World::Corrupt() {
  std::vector<uint64_t> candidates;
  for (const auto& [chunk, a] : acked_) {
    if (WholeCopies(chunk, a.length) >= 3) candidates.push_back(chunk);
  }
  if (candidates.empty()) return;
  const uint64_t chunk = candidates[random_.Uniform(candidates.size())];
  std::vector<SimReplica*> copies;
  std::vector<std::string> where;
  for (auto& s : servers_) {
    for (uint32_t d = 0; d < s.disks().size(); ++d) {
      auto it = s.disks()[d].files.find(chunk);
      if (it == s.disks()[d].files.end() || it->second.corrupt) continue;
      copies.push_back(&it->second);
      where.push_back(fmt::format("{} disk {}", s.id(), d));
    }
  }
  const size_t i = random_.Uniform(copies.size());
  copies[i]->corrupt = true;
  Trace(fmt::format("the copy of chunk {} on {} rots", chunk, where[i]));
}

void World::ReportBad(const SimChunkserver& s, uint64_t chunk, const char* why) {
  ReportBadReplicaRequest req;
  req.set_chunk_id(chunk);
  req.set_server_id(s.id());
  req.set_reason(why);
  ReportBadReplicaResponse resp;
  (void)master_->ReportBadReplica(req, &resp);
}

// Readers read acknowledged chunks from their listed replicas, in the
// master's order, and report a copy that fails its CRC check.
void World::RunReaders() {
  if (acked_.empty()) return;
  for (int n = 0; n < 2; ++n) {
    auto it = std::next(acked_.begin(), static_cast<std::ptrdiff_t>(random_.Uniform(acked_.size())));
    StatRequest sreq;
    sreq.set_path(it->second.path);
    StatResponse stat;
    if (!master_->Stat(sreq, &stat).ok()) continue;
    for (const auto& c : stat.chunks()) {
      if (c.chunk_id() != it->first) continue;
      for (const auto& r : c.replicas()) {
        SimChunkserver* s = Find(r.server_id());
        const SimReplica* rep = s && s->running() ? s->Readable(c.chunk_id()) : nullptr;
        if (!rep) continue;
        if (!rep->corrupt) break;
        ReportBad(*s, c.chunk_id(), "read: CRC mismatch");
      }
    }
  }
}

// Each chunkserver's scrubber goes through its replicas in passes, a few
// per step, and reports those that fail their CRC check.
void World::RunScrubbers() {
  for (size_t i = 0; i < servers_.size(); ++i) {
    SimChunkserver& s = servers_[i];
    if (!s.running()) continue;
    ScrubCursor& cur = scrub_[i];
    for (uint32_t n = 0; n < kScrubsPerStep; ++n) {
      cur.disk %= static_cast<uint32_t>(s.disks().size());
      const SimDisk& disk = s.disks()[cur.disk];
      auto it = disk.files.upper_bound(cur.chunk);
      if (disk.failed || it == disk.files.end()) {  // this disk's pass is over
        cur.disk++;
        cur.chunk = 0;
        continue;
      }
      cur.chunk = it->first;
      if (it->second.corrupt) ReportBad(s, it->first, "scrub: CRC mismatch");
    }
  }
}

void World::Step(bool load) {
  ++step_;
  load_ = load;
  clock_.Advance(kStepMicros);
  if (load) {
    MaybeFault();
    RunWriters();
    if (options_.plant_lost_chunk && step_ == options_.fault_steps / 2) PlantLoss();
  }
  RunServers();
  RunReaders();
  RunScrubbers();
  master_->Tick();
  if (options_.watch_chunk) Watch();
  Safe();
}

DfsSimulationResult World::Run() {
  StartMaster();
  while (result_.ok && step_ < options_.fault_steps) Step(/*load=*/true);
  if (!result_.ok) return result_;
  // Heal: every fault ends, every writer closes its file.
  for (const auto& f : faults_) EndFault(f, /*allow_replace=*/false);
  faults_.clear();
  for (auto& w : writers_) {
    if (w.path.empty()) continue;
    CloseWriteRequest c;
    c.set_path(w.path);
    c.set_writer_epoch(w.epoch);
    CloseWriteResponse cr;
    (void)master_->CloseWrite(c, &cr);
    w.path.clear();
  }
  Trace("faults end; healing");
  std::string why = "not checked";
  const uint64_t heal_until = step_ + options_.heal_steps_max;
  while (result_.ok && step_ < heal_until) {
    Step(/*load=*/false);
    if (step_ % kWholeCheckEverySteps == 0 && Whole(&why)) {
      result_.steps = step_;
      Trace("whole");
      return result_;
    }
  }
  if (result_.ok) Fail(fmt::format("not whole {} steps after the faults ended: {}", options_.heal_steps_max, why));
  result_.steps = step_;
  return result_;
}

}  // namespace

DfsSimulationResult RunDfsSimulation(const DfsSimulationOptions& options) {
  World world(options);
  return world.Run();
}

}  // namespace strata::dfs::sim
