#include "dfs/chunkserver/service/replicator.h"

#include <algorithm>

#include "chunkserver.pb.h"
#include "common/crc32c.h"
#include "common/logging.h"

namespace strata::dfs {

Replicator::Replicator(ReplicatorOptions options, ChunkStore* store, rpc::RpcClient* rpc,
                       std::shared_ptr<Clock> clock, MetricsRegistry* metrics)
    : options_(options), store_(store), rpc_(rpc), clock_(clock), bucket_(clock, options.bytes_per_sec_max) {
  copies_ok_ = metrics->GetCounter("strata_chunkserver_replications_total", "Chunk copies pulled from peers",
                                   "result=\"ok\"");
  copies_failed_ = metrics->GetCounter("strata_chunkserver_replications_total", "Chunk copies pulled from peers",
                                       "result=\"failed\"");
  copy_bytes_ = metrics->GetCounter("strata_chunkserver_replication_bytes_total", "Bytes copied from peers");
  in_flight_gauge_ = metrics->GetGauge("strata_chunkserver_replications_in_flight", "Copies queued or running");
}

Replicator::~Replicator() { Stop(); }

void Replicator::Start() {
  for (uint32_t i = 0; i < options_.concurrent_max; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

void Replicator::Stop() {
  std::deque<std::unique_ptr<Task>> dropped;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    dropped.swap(queue_);
  }
  work_.notify_all();
  for (auto& task : dropped) task->promise.set_value(Status::Unavailable("chunkserver is stopping"));
  for (auto& t : workers_) t.join();
  workers_.clear();
  std::lock_guard lock(mu_);
  active_.clear();
}

Result<Replicator::Future> Replicator::Submit(ReplicateJob job) {
  std::lock_guard lock(mu_);
  if (stopping_) return Status::Unavailable("chunkserver is stopping");
  if (auto it = active_.find(job.chunk_id); it != active_.end()) return it->second;
  if (queue_.size() >= options_.queue_max) {
    return Status::ResourceExhausted("replication queue is full (" + std::to_string(options_.queue_max) + " copies)");
  }
  auto task = std::make_unique<Task>();
  task->job = std::move(job);
  Future future = task->promise.get_future().share();
  active_[task->job.chunk_id] = future;
  queue_.push_back(std::move(task));
  in_flight_gauge_->Set(static_cast<double>(active_.size()));
  work_.notify_one();
  return future;
}

void Replicator::SetCopyListener(CopyListener listener) {
  std::lock_guard lock(listener_mu_);
  listener_ = std::move(listener);
}

uint32_t Replicator::in_flight() const {
  std::lock_guard lock(mu_);
  return static_cast<uint32_t>(active_.size());
}

void Replicator::WorkerLoop() {
  for (;;) {
    std::unique_ptr<Task> task;
    {
      std::unique_lock lock(mu_);
      work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    Result<ReplicateResult> result = Copy(task->job);
    (result.ok() ? copies_ok_ : copies_failed_)->Add();
    if (!result.ok()) {
      spdlog::warn("replicate chunk {}: {}", ChunkIdHex(task->job.chunk_id), result.status().ToString());
    }
    {
      std::lock_guard lock(mu_);
      active_.erase(task->job.chunk_id);
      in_flight_gauge_->Set(static_cast<double>(active_.size()));
    }
    {
      std::lock_guard lock(listener_mu_);
      if (listener_) listener_(task->job, result);
    }
    task->promise.set_value(std::move(result));
  }
}

Result<ReplicateResult> Replicator::Copy(const ReplicateJob& job) {
  if (job.source_addrs.empty()) return Status::InvalidArgument("replicate: no source given");
  uint32_t disk = 0;
  bool created = false;
  ASSIGN_OR_RETURN(uint64_t offset, PrepareTarget(job, &disk, &created));
  Status st = CopyPieces(job, offset);
  if (st.ok()) st = store_->Seal(job.chunk_id, job.epoch, job.length).status();
  if (!st.ok()) {
    // A half copy this job started is not a replica: remove it rather than
    // report it. A replica that was here before is left to the master.
    if (created) (void)store_->Delete(job.chunk_id);
    return st.WithContext("replicate chunk " + ChunkIdHex(job.chunk_id));
  }
  return ReplicateResult{disk, job.length};
}

// Returns the offset to copy from: 0 for a new replica, the length of a
// partial copy left by an earlier attempt, the full length when done. A
// replica already here is re-read first: the master may be asking because
// it was found corrupt, and a bad one is replaced, not kept.
Result<uint64_t> Replicator::PrepareTarget(const ReplicateJob& job, uint32_t* disk, bool* created) {
  auto info = store_->Info(job.chunk_id);
  if (info.ok() && !VerifyExisting(job.chunk_id, info->length)) {
    spdlog::warn("replicate chunk {}: the replica already here is corrupt; copying afresh", ChunkIdHex(job.chunk_id));
    RETURN_IF_ERROR(store_->Delete(job.chunk_id));
    info = Status::NotFound("deleted");
  }
  if (!info.ok()) {
    ASSIGN_OR_RETURN(*disk, store_->Create(job.chunk_id, job.epoch, job.target_disk));
    *created = true;
    return uint64_t{0};
  }
  *disk = info->disk;
  if (info->sealed && info->length != job.length) {
    return Status::FailedPrecondition("chunk " + ChunkIdHex(job.chunk_id) + " is already here, sealed at length=" +
                                      std::to_string(info->length));
  }
  return std::min(info->length, job.length);
}

bool Replicator::VerifyExisting(uint64_t chunk_id, uint64_t length) {
  std::string buf;
  for (uint64_t off = 0; off < length; off += options_.piece_bytes) {
    Status st = store_->Read(chunk_id, off, std::min(options_.piece_bytes, length - off), &buf);
    if (st.code() == StatusCode::kCorruption) return false;
  }
  return true;
}

Status Replicator::CopyPieces(const ReplicateJob& job, uint64_t offset) {
  std::unique_ptr<TokenBucket> own_limit;
  if (job.bytes_per_sec_max > 0) own_limit = std::make_unique<TokenBucket>(clock_, job.bytes_per_sec_max);
  size_t source = 0;
  while (offset < job.length) {
    uint64_t n = std::min(options_.piece_bytes, job.length - offset);
    if (!bucket_.Acquire(n, &stopping_) || (own_limit && !own_limit->Acquire(n, &stopping_))) {
      return Status::Unavailable("chunkserver is stopping");
    }
    Result<std::string> data = Status::Unavailable("no source");
    for (size_t tries = 0; tries < job.source_addrs.size(); ++tries) {
      data = ReadPiece(job.source_addrs[source], job.chunk_id, offset, n);
      if (data.ok()) break;
      spdlog::info("replicate chunk {}: source {} failed at offset {}: {}", ChunkIdHex(job.chunk_id),
                   job.source_addrs[source], offset, data.status().ToString());
      source = (source + 1) % job.source_addrs.size();
    }
    if (!data.ok()) return data.status().WithContext("every source failed at offset " + std::to_string(offset));
    AppendArgs args;
    args.chunk_id = job.chunk_id;
    args.epoch = job.epoch;
    args.offset = offset;
    args.data = *data;
    args.data_crc = Crc32c(*data);
    RETURN_IF_ERROR(store_->Append(args).status());
    offset += n;
    copy_bytes_->Add(n);
  }
  return Status::Ok();
}

Result<std::string> Replicator::ReadPiece(const std::string& source, uint64_t chunk_id, uint64_t offset,
                                          uint64_t length) {
  ReadRequest req;
  req.set_chunk_id(chunk_id);
  req.set_offset(offset);
  req.set_length(static_cast<uint32_t>(length));
  ReadResponse resp;
  std::string data;
  RETURN_IF_ERROR(
      rpc_->CallTyped(source, CHUNKSERVER_READ, req, &resp, "", &data, options_.rpc_timeout_ms));
  if (data.size() != resp.length() || Crc32c(data) != resp.data_crc()) {
    return Status::Corruption("piece from " + source + " does not match its CRC32C");
  }
  if (data.size() != length) {
    return Status::OutOfRange("source " + source + " returned " + std::to_string(data.size()) + " of " +
                              std::to_string(length) + " bytes");
  }
  return data;
}

}  // namespace strata::dfs
