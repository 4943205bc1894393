#include "dfs/client/file_reader.h"

#include <algorithm>
#include <cstring>

#include "chunkserver.pb.h"
#include "common/crc32c.h"
#include "common/logging.h"
#include "dfs/client/dfs_client.h"
#include "dfs/client/replica_order.h"

namespace strata::dfs {
namespace {

constexpr size_t kReadPieceBytesMax = 4u << 20;

}  // namespace

FileReader::FileReader(DfsClient* client, std::string path, StatResponse stat)
    : client_(client), path_(std::move(path)), stat_(std::make_shared<const StatResponse>(std::move(stat))) {
  for (const auto& c : stat_->chunks()) size_ = std::max(size_, c.file_offset() + c.length());
}

std::shared_ptr<const StatResponse> FileReader::Snapshot() const {
  std::lock_guard lock(mu_);
  return stat_;
}

Result<std::shared_ptr<const StatResponse>> FileReader::Refresh(const std::shared_ptr<const StatResponse>& seen) {
  {
    std::lock_guard lock(mu_);
    if (stat_ != seen) return stat_;
  }
  ASSIGN_OR_RETURN(StatResponse fresh, client_->Stat(path_));
  refreshes_++;
  auto next = std::make_shared<const StatResponse>(std::move(fresh));
  std::lock_guard lock(mu_);
  if (stat_ == seen) stat_ = next;
  return stat_;
}

const ChunkInfo* FileReader::ChunkAt(const StatResponse& stat, uint64_t pos) {
  // Chunks are ordered by file offset; find the one holding `pos`.
  auto it = std::upper_bound(stat.chunks().begin(), stat.chunks().end(), pos,
                             [](uint64_t p, const ChunkInfo& c) { return p < c.file_offset(); });
  if (it == stat.chunks().begin()) return nullptr;
  const ChunkInfo& chunk = *(it - 1);
  return pos - chunk.file_offset() < chunk.length() ? &chunk : nullptr;
}

void FileReader::ReportBadReplica(const ChunkInfo& chunk, const ReplicaLocation& loc, const Status& why) {
  corruptions_++;
  spdlog::warn("dfs: corrupt replica of chunk {} on {}: {}", chunk.chunk_id(), loc.server_id(), why.ToString());
  ReportBadReplicaRequest req;
  req.set_chunk_id(chunk.chunk_id());
  req.set_server_id(loc.server_id());
  req.set_reason(why.ToString());
  ReportBadReplicaResponse resp;
  Status st = client_->CallMaster(MASTER_REPORT_BAD_REPLICA, req, &resp);
  if (!st.ok()) spdlog::warn("dfs: reporting bad replica: {}", st.ToString());
}

Result<size_t> FileReader::ReadFromChunk(const ChunkInfo& chunk, uint64_t offset_in_chunk, char* buf, size_t n) {
  if (chunk.replicas_size() == 0) {
    return Status::Unavailable("chunk " + std::to_string(chunk.chunk_id()) + " has no replica");
  }
  Status last;
  for (int index : ReplicaReadOrder(chunk)) {
    const auto& loc = chunk.replicas(index);
    ReadRequest req;
    req.set_chunk_id(chunk.chunk_id());
    req.set_offset(offset_in_chunk);
    req.set_length(static_cast<uint32_t>(n));
    ReadResponse resp;
    std::string data;
    Status st = client_->rpc().CallTyped(loc.addr(), CHUNKSERVER_READ, req, &resp, "", &data,
                                         client_->options().rpc_timeout_ms);
    if (st.ok() && data.size() != resp.length()) st = Status::ProtocolError("read reply length mismatch");
    if (st.ok() && Crc32c(data) != resp.data_crc()) st = Status::Corruption("read reply checksum mismatch");
    if (st.ok() && data.size() < n) {
      st = Status::Corruption("replica returned " + std::to_string(data.size()) + " of " + std::to_string(n) +
                              " bytes inside the chunk");
    }
    if (st.ok()) {
      std::memcpy(buf, data.data(), data.size());
      return data.size();
    }
    if (st.code() == StatusCode::kCorruption) ReportBadReplica(chunk, loc, st);
    failovers_++;
    last = st.WithContext("replica " + loc.server_id() + " (" + loc.addr() + ")");
  }
  return last.WithContext("read chunk " + std::to_string(chunk.chunk_id()));
}

Result<size_t> FileReader::ReadAt(uint64_t offset, char* buf, size_t n) {
  size_t done = 0;
  while (done < n && offset + done < size_) {
    uint64_t pos = offset + done;
    std::shared_ptr<const StatResponse> stat = Snapshot();
    const ChunkInfo* chunk = ChunkAt(*stat, pos);
    if (chunk == nullptr) break;  // a hole cannot happen: end of data
    uint64_t in_chunk = pos - chunk->file_offset();
    size_t want = static_cast<size_t>(std::min<uint64_t>({n - done, chunk->length() - in_chunk, kReadPieceBytesMax}));
    Result<size_t> got = ReadFromChunk(*chunk, in_chunk, buf + done, want);
    if (!got.ok()) {
      // Every replica it knew failed: the chunk may have moved since.
      auto fresh = Refresh(stat);
      if (!fresh.ok()) return got.status();
      const ChunkInfo* moved = ChunkAt(**fresh, pos);
      if (moved == nullptr || moved->chunk_id() != chunk->chunk_id()) return got.status();
      spdlog::info("dfs: chunk {} of {}: read again from its current replicas", chunk->chunk_id(), path_);
      got = ReadFromChunk(*moved, in_chunk, buf + done, want);
      if (!got.ok()) return got.status();
    }
    done += *got;
    if (*got == 0) break;
  }
  return done;
}

}  // namespace strata::dfs
