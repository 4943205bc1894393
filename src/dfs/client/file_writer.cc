#include "dfs/client/file_writer.h"

#include <algorithm>
#include <chrono>
#include <future>

#include "chunkserver.pb.h"
#include "common/crc32c.h"
#include "common/logging.h"
#include "dfs/client/dfs_client.h"
#include "dfs/client/lease_renewer.h"

namespace strata::dfs {
namespace {

// Attempts to place a new chunk before giving up on a write.
constexpr int kAllocateAttemptsMax = 8;
// A replica this many bytes behind the acknowledged length is dropped.
constexpr uint64_t kReplicaLagBytesMax = 32u << 20;
// Appends in flight to one replica when the writer has a window.
constexpr size_t kInflightPerReplicaMax = 4;

Status ReplyStatus(Result<rpc::RpcReply>& reply) {
  if (!reply.ok()) return reply.status();
  return reply->status;
}

}  // namespace

FileWriter::FileWriter(DfsClient* client, std::string path, const OpenWriteResponse& opened)
    : client_(client),
      path_(std::move(path)),
      writer_epoch_(opened.writer_epoch()),
      chunk_size_(opened.info().chunk_size()),
      min_copies_(std::max<uint32_t>(1, opened.info().min_copies())),
      durability_(opened.info().durability()),
      file_size_(opened.info().size()) {
  if (opened.lease_ms() > 0) {
    renewer_ = std::make_unique<LeaseRenewer>(&client_->rpc(), client_->clock(), client_->masters(), path_,
                                              writer_epoch_,
                                              std::chrono::milliseconds(std::max<uint64_t>(1, opened.lease_ms() / 3)));
  }
}

FileWriter::~FileWriter() {
  if (!closed_) {
    Status st = Close();
    if (!st.ok()) spdlog::warn("dfs: closing {} on destruction: {}", path_, st.ToString());
  }
}

void FileWriter::DropReplica(Replica& r, const Status& why) {
  if (r.failed) return;
  r.failed = true;
  r.queue.clear();
  r.sent = 0;
  r.inflight_ids.clear();
  r.answered.clear();
  exclude_.insert(r.location.server_id());
  stats_.replicas_dropped++;
  spdlog::warn("dfs: {} chunk {}: dropping replica on {} ({}): {}", path_, chunk_ ? chunk_->chunk_id() : 0,
               r.location.server_id(), r.location.addr(), why.ToString());
}

bool FileWriter::AnyReplicaFailed() const {
  return std::any_of(replicas_.begin(), replicas_.end(), [](const Replica& r) { return r.failed; });
}

Result<rpc::DirectChannel*> FileWriter::ChannelTo(const std::string& addr) {
  auto& channel = channels_[addr];
  if (channel && !channel->broken().ok()) channel.reset();  // lost: connect again
  if (!channel) channel = std::make_unique<rpc::DirectChannel>(addr, rpc::FrameLimits{}, client_->options().auth);
  // As long as the RPC client waits for a connection (the server just
  // answered CREATE_CHUNK, so it is up unless it died since).
  const uint32_t connect_ms = std::min(client_->options().rpc_timeout_ms, rpc::RpcClientOptions{}.connect_timeout_ms);
  RETURN_IF_ERROR(channel->Connect(connect_ms));
  return channel.get();
}

void FileWriter::Pump(Replica& r) {
  const size_t inflight_max = window_ > 0 ? kInflightPerReplicaMax : 1;
  while (!r.failed && r.sent < r.queue.size() && r.sent < inflight_max) {
    auto id = r.channel->Send(CHUNKSERVER_APPEND, r.queue[r.sent]->body, client_->options().rpc_timeout_ms,
                              /*ordered=*/true);
    if (!id.ok()) {
      DropReplica(r, id.status());
      return;
    }
    if (r.sent == 0) r.progress_us = client_->clock()->NowMicros();
    r.inflight_ids.push_back(*id);
    r.sent++;
  }
}

void FileWriter::Collect(Replica& r) {
  if (r.failed) return;
  std::vector<rpc::DirectChannel::Arrived> arrived;
  Status st = r.channel->Pump(&arrived);
  if (!st.ok()) {
    DropReplica(r, st);
    return;
  }
  for (auto& a : arrived) {
    // Not one of ours: e.g. the answer to an earlier chunk's append.
    if (std::find(r.inflight_ids.begin(), r.inflight_ids.end(), a.request_id) == r.inflight_ids.end()) continue;
    if (!a.reply.status.ok()) {
      DropReplica(r, a.reply.status);
      return;
    }
    r.answered.insert(a.request_id);
  }
  // Answers may come out of order; the replica holds a prefix.
  while (!r.inflight_ids.empty() && r.answered.erase(r.inflight_ids.front())) {
    r.inflight_ids.pop_front();
    r.acked_end = r.queue.front()->end;
    r.queue.pop_front();
    r.sent--;
    r.progress_us = client_->clock()->NowMicros();
  }
  Pump(r);
  if (r.failed) return;
  const uint64_t lag_us = uint64_t{client_->options().replica_lag_ms_max} * 1000;
  if (r.sent > 0 && client_->clock()->NowMicros() - r.progress_us > lag_us) {
    DropReplica(r, Status::DeadlineExceeded("replica has not answered an append for " +
                                            std::to_string(lag_us / 1000) + " ms"));
  } else if (chunk_len_ > r.acked_end + kReplicaLagBytesMax) {
    DropReplica(r, Status::ResourceExhausted("replica lags " + std::to_string(chunk_len_ - r.acked_end) +
                                             " bytes behind"));
  }
}

void FileWriter::Progress(uint64_t wait_us) {
  if (wait_us > 0) {
    std::vector<rpc::DirectChannel*> waiting;
    for (auto& r : replicas_) {
      if (!r.failed && r.sent > 0) waiting.push_back(r.channel);
    }
    rpc::DirectChannel::WaitAny(waiting, wait_us);
  }
  for (auto& r : replicas_) Collect(r);
  UpdateAcks();
}

void FileWriter::UpdateAcks() {
  const size_t need = std::min<size_t>(min_copies_, replicas_.size());
  while (!unacked_.empty()) {
    const auto& front = unacked_.front();
    size_t acked = std::count_if(replicas_.begin(), replicas_.end(),
                                 [&](const Replica& r) { return !r.failed && r.acked_end >= front->end; });
    if (acked < need) return;
    const uint64_t bytes = front->end - chunk_len_;
    chunk_len_ = front->end;
    file_size_ += bytes;
    unacked_bytes_ -= bytes;
    stats_.appends++;
    if (on_ack_) on_ack_(bytes, client_->clock()->NowMicros() - front->submitted_us);
    unacked_.pop_front();
  }
}

void FileWriter::Drain() {
  const uint64_t deadline_us =
      client_->clock()->NowMicros() + uint64_t{client_->options().replica_lag_ms_max} * 1000;
  for (;;) {
    bool pending = false;
    for (auto& r : replicas_) pending |= !r.failed && !r.queue.empty();
    if (!pending) return;
    if (client_->clock()->NowMicros() > deadline_us) {
      for (auto& r : replicas_) {
        if (!r.failed && !r.queue.empty()) {
          DropReplica(r, Status::DeadlineExceeded("replica did not catch up before the chunk was sealed"));
        }
      }
      return;
    }
    Progress(1000);
  }
}

Status FileWriter::EnsureChunk() {
  if (chunk_) return Status::Ok();
  Status last;
  for (int attempt = 0; attempt < kAllocateAttemptsMax; ++attempt) {
    AllocateChunkRequest req;
    req.set_path(path_);
    req.set_writer_epoch(writer_epoch_);
    for (const auto& s : exclude_) req.add_exclude_servers(s);
    AllocateChunkResponse resp;
    Status st = client_->CallMaster(MASTER_ALLOCATE_CHUNK, req, &resp);
    if (!st.ok() && st.code() == StatusCode::kUnavailable && !exclude_.empty()) {
      // Not enough servers once the failed ones are excluded: they may be back.
      exclude_.clear();
      last = st;
      continue;
    }
    RETURN_IF_ERROR(st.WithContext("allocate chunk for " + path_));
    chunk_ = resp.chunk();
    chunk_len_ = 0;
    sent_len_ = 0;
    replicas_.clear();
    stats_.chunks_allocated++;
    // Create the replica files on every chunkserver in parallel.
    std::vector<std::future<Result<rpc::RpcReply>>> creates;
    for (const auto& loc : chunk_->replicas()) {
      CreateChunkRequest create;
      create.set_chunk_id(chunk_->chunk_id());
      create.set_epoch(chunk_->epoch());
      create.set_disk(loc.disk());
      creates.push_back(client_->rpc().CallAsync(loc.addr(), CHUNKSERVER_CREATE_CHUNK, create.SerializeAsString(),
                                                 "", client_->options().rpc_timeout_ms));
      replicas_.push_back(Replica{loc});
    }
    size_t ok = 0;
    for (size_t i = 0; i < creates.size(); ++i) {
      auto reply = creates[i].get();
      Status cst = ReplyStatus(reply);
      if (cst.ok()) {
        auto channel = ChannelTo(replicas_[i].location.addr());
        cst = channel.status();
        if (channel.ok()) replicas_[i].channel = *channel;
      }
      if (cst.ok()) {
        ok++;
      } else {
        DropReplica(replicas_[i], cst);
      }
    }
    if (ok == replicas_.size()) return Status::Ok();
    // A replica could not even be created: give this chunk up (empty) and
    // place a new one away from the failed server.
    last = Status::Unavailable("could not create all replicas of chunk " + std::to_string(chunk_->chunk_id()));
    RETURN_IF_ERROR(SealCurrent(/*early=*/true));
  }
  return last.WithContext("allocate chunk for " + path_);
}

void FileWriter::Queue(std::string_view piece, uint64_t submitted_us) {
  AppendRequest req;
  req.set_chunk_id(chunk_->chunk_id());
  req.set_epoch(chunk_->epoch());
  req.set_offset(sent_len_);
  req.set_data_crc(Crc32c(piece.data(), piece.size()));
  req.set_durability(durability_);
  auto pending = std::make_shared<PendingAppend>();
  pending->end = sent_len_ + piece.size();
  pending->body = rpc::MakeFrameBody(req.SerializeAsString(), std::string(piece));
  pending->submitted_us = submitted_us;
  sent_len_ = pending->end;
  unacked_.push_back(pending);
  unacked_bytes_ += piece.size();
  for (auto& r : replicas_) {
    if (r.failed) continue;
    r.queue.push_back(pending);
    Pump(r);
  }
}

Status FileWriter::WaitAcked(uint64_t limit) {
  const uint64_t stall_us = (uint64_t{client_->options().rpc_timeout_ms} + 1000) * 1000;
  uint64_t last_progress_us = client_->clock()->NowMicros();
  uint64_t last_unacked = unacked_bytes_;
  Progress(0);
  for (;;) {
    if (unacked_bytes_ <= limit) return Status::Ok();
    const size_t healthy = std::count_if(replicas_.begin(), replicas_.end(), [](const Replica& r) { return !r.failed; });
    if (healthy < std::min<size_t>(min_copies_, replicas_.size())) {
      // What is not acknowledged cannot reach a quorum in this chunk: seal
      // what was and write the rest again in a new chunk.
      RETURN_IF_ERROR(Reseal());
      continue;
    }
    if (unacked_bytes_ != last_unacked) {
      last_unacked = unacked_bytes_;
      last_progress_us = client_->clock()->NowMicros();
    } else if (client_->clock()->NowMicros() - last_progress_us > stall_us) {
      return Status::DeadlineExceeded("append to " + path_);
    }
    // Sleep until a reply comes; wake now and then to check the lag bounds.
    Progress(10'000);
  }
}

Status FileWriter::Reseal() {
  Drain();
  UpdateAcks();
  std::vector<std::pair<std::string, uint64_t>> replay;  // data, submitted_us
  for (const auto& p : unacked_) replay.emplace_back(p->body->bulk, p->submitted_us);
  unacked_.clear();
  unacked_bytes_ = 0;
  RETURN_IF_ERROR(SealCurrent(/*early=*/true));
  // Everything queued fitted in one chunk, so it fits in the new one.
  for (const auto& [data, submitted_us] : replay) {
    RETURN_IF_ERROR(EnsureChunk());
    Queue(data, submitted_us);
  }
  return Status::Ok();
}

Status FileWriter::EnsureRoom() {
  for (;;) {
    if (chunk_ && AnyReplicaFailed()) {
      RETURN_IF_ERROR(Reseal());
      continue;
    }
    if (chunk_ && sent_len_ == chunk_size_) {
      RETURN_IF_ERROR(WaitAcked(0));
      if (chunk_ && chunk_len_ == chunk_size_) RETURN_IF_ERROR(SealCurrent(/*early=*/false));
      continue;
    }
    return EnsureChunk();
  }
}

Status FileWriter::SealCurrent(bool early) {
  if (!chunk_) return Status::Ok();
  Drain();
  SealChunkRequest req;
  req.set_path(path_);
  req.set_writer_epoch(writer_epoch_);
  req.set_chunk_id(chunk_->chunk_id());
  req.set_length(chunk_len_);
  SealChunkResponse resp;
  RETURN_IF_ERROR(client_->CallMaster(MASTER_SEAL_CHUNK, req, &resp).WithContext("seal chunk"));
  SealRequest seal;
  seal.set_chunk_id(chunk_->chunk_id());
  seal.set_epoch(resp.chunk().epoch() ? resp.chunk().epoch() : chunk_->epoch());
  seal.set_length(chunk_len_);
  std::vector<std::future<Result<rpc::RpcReply>>> seals;
  for (auto& r : replicas_) {
    if (r.failed) continue;  // the master seals or replaces it through heartbeats
    seals.push_back(client_->rpc().CallAsync(r.location.addr(), CHUNKSERVER_SEAL, seal.SerializeAsString(), "",
                                             client_->options().rpc_timeout_ms));
  }
  for (auto& f : seals) {
    auto reply = f.get();
    Status st = ReplyStatus(reply);
    if (!st.ok()) spdlog::warn("dfs: sealing a replica of chunk {}: {}", chunk_->chunk_id(), st.ToString());
  }
  if (early) stats_.chunks_sealed_early++;
  chunk_.reset();
  replicas_.clear();
  chunk_len_ = 0;
  return Status::Ok();
}

Status FileWriter::Append(std::string_view data) {
  if (closed_) return Status::FailedPrecondition("writer for " + path_ + " is closed");
  if (!failed_.ok()) return failed_;
  return Sticky(AppendQueued(data));
}

Status FileWriter::AppendQueued(std::string_view data) {
  const uint64_t submitted_us = client_->clock()->NowMicros();
  while (!data.empty()) {
    RETURN_IF_ERROR(EnsureRoom());
    std::string_view piece = data.substr(0, std::min<uint64_t>(chunk_size_ - sent_len_, data.size()));
    Queue(piece, submitted_us);
    data.remove_prefix(piece.size());
  }
  return WaitAcked(window_);
}

Status FileWriter::Sticky(Status st) {
  if (!st.ok() && failed_.ok()) {
    failed_ = Status(st.code(), "writer for " + path_ + " failed: " + st.message() +
                                    "; the file holds what was acknowledged (" + std::to_string(file_size_) +
                                    " bytes)");
  }
  return st;
}

Status FileWriter::Flush() {
  if (closed_) return Status::FailedPrecondition("writer for " + path_ + " is closed");
  if (!failed_.ok()) return failed_;
  return Sticky(WaitAcked(0));
}

Status FileWriter::Sync() {
  RETURN_IF_ERROR(Flush());
  if (durability_ != DURABILITY_MEMORY || !chunk_ || chunk_len_ == 0) return Status::Ok();
  SyncChunkRequest req;
  req.set_chunk_id(chunk_->chunk_id());
  std::string meta = req.SerializeAsString();
  std::vector<std::pair<const Replica*, std::future<Result<rpc::RpcReply>>>> calls;
  for (const Replica& r : replicas_) {
    if (r.failed) continue;
    calls.emplace_back(&r, client_->rpc().CallAsync(r.location.addr(), CHUNKSERVER_SYNC_CHUNK, meta, "",
                                                    client_->options().rpc_timeout_ms));
  }
  uint32_t synced = 0;
  Status last;
  for (auto& [r, call] : calls) {
    Result<rpc::RpcReply> reply = call.get();
    Status st = reply.ok() ? reply->status : reply.status();
    SyncChunkResponse resp;
    if (st.ok() && !resp.ParseFromString(reply->meta)) st = Status::ProtocolError("bad sync reply");
    // A replica shorter than what was acknowledged did not sync all of it.
    if (st.ok() && resp.length() < chunk_len_) {
      st = Status::Unavailable("holds " + std::to_string(resp.length()) + " of " + std::to_string(chunk_len_) +
                               " acknowledged bytes");
    }
    if (st.ok()) {
      synced++;
    } else {
      last = st.WithContext("replica " + r->location.server_id() + " (" + r->location.addr() + ")");
    }
  }
  if (synced >= min_copies_) return Status::Ok();
  return Status::Unavailable(path_ + ": chunk " + std::to_string(chunk_->chunk_id()) + " synced on " +
                             std::to_string(synced) + " replicas, " + std::to_string(min_copies_) +
                             " needed: " + last.ToString());
}

Status FileWriter::Close() {
  if (closed_) return Status::Ok();
  closed_ = true;
  // Renewals stop with the writer: a writer that failed leaves its open
  // chunk to the master once the lease runs out.
  if (renewer_) renewer_->Stop();
  if (!failed_.ok()) return failed_;
  RETURN_IF_ERROR(Sticky(WaitAcked(0)));
  RETURN_IF_ERROR(Sticky(SealCurrent(/*early=*/false)));
  CloseWriteRequest req;
  req.set_path(path_);
  req.set_writer_epoch(writer_epoch_);
  CloseWriteResponse resp;
  return client_->CallMaster(MASTER_CLOSE_WRITE, req, &resp);
}

}  // namespace strata::dfs
