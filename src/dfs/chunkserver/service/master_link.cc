#include "dfs/chunkserver/service/master_link.h"

#include <algorithm>

#include "common/logging.h"

namespace strata::dfs {

MasterLink::MasterLink(const ChunkserverOptions& options, MasterLinkIdentity identity, ChunkStore* store,
                       Replicator* replicator, rpc::RpcClient* rpc, std::shared_ptr<Clock> clock,
                       MetricsRegistry* metrics)
    : masters_(options.master),
      rpc_timeout_ms_(options.master_rpc_timeout_ms),
      full_report_every_(options.full_report_every),
      identity_(std::move(identity)),
      store_(store),
      replicator_(replicator),
      rpc_(rpc),
      clock_(std::move(clock)),
      interval_ms_(options.heartbeat_interval_ms) {
  heartbeat_failures_ = metrics->GetCounter("strata_chunkserver_heartbeat_failures_total",
                                            "Heartbeats or registrations the master did not answer OK");
  commands_ = metrics->GetCounter("strata_chunkserver_master_commands_total", "Chunk commands received");
  reports_sent_ = metrics->GetCounter("strata_chunkserver_bad_replica_reports_total",
                                      "Corrupt replicas reported to the master");
}

MasterLink::~MasterLink() { Stop(); }

void MasterLink::Start() {
  replicator_->SetCopyListener(
      [this](const ReplicateJob& job, const Result<ReplicateResult>& result) { ReportCopy(job, result); });
  commands_thread_ = std::thread([this] { CommandLoop(); });
  thread_ = std::thread([this] { Loop(); });
}

void MasterLink::Stop() {
  stopping_ = true;
  replicator_->SetCopyListener(nullptr);
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(commands_mu_);
    commands_stopping_ = true;
  }
  commands_cv_.notify_all();
  if (commands_thread_.joinable()) commands_thread_.join();
}

void MasterLink::Enqueue(const ChunkCommand& command) {
  {
    std::lock_guard lock(commands_mu_);
    if (queued_commands_.size() >= kCommandsQueuedMax) {
      spdlog::warn("master command {} on chunk {} dropped: {} commands are waiting (a disk may hang)",
                   ChunkCommand::Kind_Name(command.kind()), ChunkIdHex(command.chunk_id()), kCommandsQueuedMax);
      return;
    }
    queued_commands_.push_back(command);
  }
  commands_cv_.notify_one();
}

void MasterLink::CommandLoop() {
  for (;;) {
    ChunkCommand command;
    {
      std::unique_lock lock(commands_mu_);
      commands_cv_.wait(lock, [&] { return commands_stopping_ || !queued_commands_.empty(); });
      if (commands_stopping_) return;
      command = std::move(queued_commands_.front());
      queued_commands_.pop_front();
    }
    Execute(command);
  }
}

// `wake_on_reports`: return early when a bad-replica report is queued, so
// that the master hears of it at once rather than at the next heartbeat.
void MasterLink::SleepMillis(uint64_t ms, bool wake_on_reports) {
  constexpr uint64_t kSliceMs = 10;
  for (uint64_t slept = 0; slept < ms && !stopping_; slept += kSliceMs) {
    if (wake_on_reports && reports_pending_.load()) return;
    clock_->SleepMicros(std::min(kSliceMs, ms - slept) * 1000);
  }
}

void MasterLink::Loop() {
  uint64_t backoff_ms = interval_ms_;
  bool quiet = false;  // log a run of failures once
  while (!stopping_) {
    Status st = registered_ ? Heartbeat() : Register();
    if (st.ok()) st = SendCorruptionReports();
    if (st.ok()) {
      if (quiet) spdlog::info("master {} reachable again", masters_.Current());
      quiet = false;
      backoff_ms = interval_ms_;
      SleepMillis(interval_ms_, /*wake_on_reports=*/true);
      continue;
    }
    heartbeat_failures_->Add();
    if (!quiet) spdlog::warn("master: {}", st.ToString());
    quiet = true;
    // Whatever failed, the next attempt registers: the master may be new.
    registered_ = false;
    if (retry_at_once_.exchange(false)) continue;  // redirected to the leader, or another master to try
    SleepMillis(backoff_ms);
    // With several masters a failure is most likely a failover: a standby
    // takes over within seconds and must hear from this chunkserver before
    // its startup grace ends, so the backoff stays at one heartbeat interval.
    const uint64_t backoff_max = masters_.size() > 1 ? std::max<uint64_t>(interval_ms_, 1) : kRegisterBackoffMsMax;
    backoff_ms = std::min(backoff_ms * 2, backoff_max);
  }
}

Status MasterLink::CallMaster(uint32_t method, const google::protobuf::Message& req,
                              google::protobuf::Message* resp) {
  const std::string addr = masters_.Current();
  Status st = rpc_->CallTyped(addr, method, req, resp, {}, nullptr, rpc_timeout_ms_);
  if (st.ok() || !st.retryable()) {
    masters_.Answered(addr);
  } else if (masters_.Failed(addr, st)) {
    retry_at_once_ = true;
  }
  return st.ok() ? st : st.WithContext("master " + addr);
}

void MasterLink::FillDisks(google::protobuf::RepeatedPtrField<DiskStat>* out) {
  for (const DiskReport& d : store_->DiskReports()) {
    DiskStat* s = out->Add();
    s->set_index(d.index);
    s->set_path(d.path);
    s->set_capacity_bytes(d.capacity_bytes);
    s->set_used_bytes(d.used_bytes);
    s->set_free_bytes(d.free_bytes);
    s->set_device_id(d.device_id);
    s->set_failed(d.failed);
    s->set_failure(d.failure);
    s->set_write_p50_us(d.write_p50_us);
    s->set_write_p99_us(d.write_p99_us);
    s->set_ops(d.ops);
    s->set_chunks(d.chunks);
    if (d.index < identity_.disk_media.size()) s->set_media(identity_.disk_media[d.index]);
  }
}

Status MasterLink::Register() {
  RegisterRequest req;
  req.set_server_id(identity_.server_id);
  req.set_addr(identity_.addr);
  req.set_rack(identity_.rack);
  req.set_http_addr(identity_.http_addr);
  FillDisks(req.mutable_disks());
  for (const DiskIdentity& id : store_->DiskIdentities()) req.add_disk_ids(id.disk_id);
  RegisterResponse resp;
  std::lock_guard calls(calls_mu_);
  RETURN_IF_ERROR(CallMaster(MASTER_REGISTER, req, &resp).WithContext("register"));
  if (resp.heartbeat_interval_ms() > 0) interval_ms_ = resp.heartbeat_interval_ms();
  // Before the first heartbeat: a refused disk's replicas are never reported,
  // so the master never orders them deleted.
  if (!resp.cluster_id().empty()) (void)store_->AdoptCluster(resp.cluster_id());
  registered_ = true;
  since_full_report_ = 0;
  spdlog::info("registered with master {} as {} (heartbeat every {} ms)", masters_.Current(), identity_.server_id,
               interval_ms_.load());
  return Status::Ok();
}

Status MasterLink::Heartbeat() {
  std::lock_guard calls(calls_mu_);  // the replica list stays current until the master has it
  HeartbeatRequest req;
  req.set_server_id(identity_.server_id);
  FillDisks(req.mutable_disks());
  uint64_t layout = store_->LayoutVersion();
  bool full = since_full_report_ % full_report_every_ == 0 || layout != reported_layout_;
  req.set_full_report(full);
  if (full) {
    for (const ReplicaState& s : store_->ListReplicas(/*trusted_only=*/true)) {
      ReplicaReport* r = req.add_replicas();
      r->set_chunk_id(s.chunk_id);
      r->set_disk(s.disk);
      r->set_length(s.length);
      r->set_sealed(s.sealed);
      r->set_epoch(s.epoch);
    }
  }
  req.set_copies_in_flight(replicator_->in_flight());
  HeartbeatResponse resp;
  RETURN_IF_ERROR(CallMaster(MASTER_HEARTBEAT, req, &resp).WithContext("heartbeat"));
  heartbeats_++;
  if (full) {
    since_full_report_ = 0;
    reported_layout_ = layout;
  }
  since_full_report_++;
  for (const ChunkCommand& c : resp.commands()) Enqueue(c);
  if (resp.reregister()) {
    spdlog::info("master {} asks this chunkserver to register again", masters_.Current());
    registered_ = false;
  }
  return Status::Ok();
}

void MasterLink::ReportCopy(const ReplicateJob& job, const Result<ReplicateResult>& result) {
  if (!result.ok() || stopping_ || !registered_) return;
  HeartbeatRequest req;
  req.set_server_id(identity_.server_id);
  ReplicaReport* r = req.add_replicas();
  r->set_chunk_id(job.chunk_id);
  r->set_disk(result->disk);
  r->set_length(result->length);
  r->set_sealed(true);
  r->set_epoch(job.epoch);
  req.set_copies_in_flight(replicator_->in_flight());
  HeartbeatResponse resp;
  Status st;
  {
    std::lock_guard calls(calls_mu_);
    st = CallMaster(MASTER_HEARTBEAT, req, &resp);
  }
  if (!st.ok()) {
    spdlog::info("reporting the copy of chunk {}: {}", ChunkIdHex(job.chunk_id), st.ToString());
    return;
  }
  for (const ChunkCommand& c : resp.commands()) Enqueue(c);
  if (resp.reregister()) registered_ = false;
}

void MasterLink::Execute(const ChunkCommand& c) {
  commands_->Add();
  Status st;
  switch (c.kind()) {
    case ChunkCommand::REPLICATE: {
      ReplicateJob job;
      job.chunk_id = c.chunk_id();
      job.length = c.length();
      job.epoch = c.epoch();
      job.target_disk = c.target_disk();
      job.bytes_per_sec_max = c.rate_limit_bytes_per_sec();
      for (const auto& src : c.sources()) {
        if (src.server_id() != identity_.server_id) job.source_addrs.push_back(src.addr());
      }
      st = replicator_->Submit(std::move(job)).status();
      break;
    }
    case ChunkCommand::DELETE:
      st = store_->Delete(c.chunk_id());
      break;
    case ChunkCommand::SEAL:
      st = store_->Seal(c.chunk_id(), c.epoch(), c.length()).status();
      break;
    default:
      st = Status::NotSupported("unknown chunk command kind " + std::to_string(c.kind()));
  }
  if (!st.ok()) {
    spdlog::warn("master command {} on chunk {}: {}", ChunkCommand::Kind_Name(c.kind()), ChunkIdHex(c.chunk_id()),
                 st.ToString());
  }
}

}  // namespace strata::dfs

namespace strata::dfs {

void MasterLink::ReportCorruption(uint64_t chunk_id, const std::string& reason) {
  std::lock_guard lock(reports_mu_);
  if (corruption_reports_.size() >= kCorruptionReportsQueuedMax) return;  // the master learns on later reads
  corruption_reports_.emplace(chunk_id, reason);
  reports_pending_ = true;
}

// Sends the queued reports; those the master did not take stay queued.
Status MasterLink::SendCorruptionReports() {
  std::map<uint64_t, std::string> reports;
  {
    std::lock_guard lock(reports_mu_);
    reports.swap(corruption_reports_);
    reports_pending_ = false;
  }
  Status result;
  for (auto it = reports.begin(); it != reports.end();) {
    ReportBadReplicaRequest req;
    req.set_chunk_id(it->first);
    req.set_server_id(identity_.server_id);
    req.set_reason(it->second);
    ReportBadReplicaResponse resp;
    Status st = CallMaster(MASTER_REPORT_BAD_REPLICA, req, &resp);
    if (!st.ok() && st.retryable()) {
      result = st.WithContext("report bad replica");
      break;
    }
    if (st.ok()) {
      reports_sent_->Add();
      spdlog::warn("reported corrupt replica of chunk {} to the master: {}", ChunkIdHex(it->first), it->second);
    }
    it = reports.erase(it);
  }
  std::lock_guard lock(reports_mu_);
  corruption_reports_.merge(reports);
  return result;
}

}  // namespace strata::dfs
