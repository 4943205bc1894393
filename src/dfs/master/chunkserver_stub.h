// ChunkserverStub: the calls the master makes to chunkservers (asking the
// replicas of a chunk left open by a previous writer for their lengths, and
// sealing them), behind an interface so tests replace the network with a
// fake (STYLE.md habit 7). RpcChunkserverStub is the real one.
//
// Calls fan out to all addresses in parallel and return one result per
// address, in order; a server that does not answer within the timeout
// yields Unavailable/DeadlineExceeded for its slot.
//
// Thread-safety: implementations are thread-safe.
// Ownership: RpcChunkserverStub borrows its RpcClient.
#pragma once

#include <string>
#include <vector>

#include "chunkserver.pb.h"
#include "common/result.h"

namespace strata::rpc { class RpcClient; }

namespace strata::dfs::master {

struct ChunkQuery {
  std::string addr;
  uint64_t chunk_id = 0;
};

class ChunkserverStub {
 public:
  virtual ~ChunkserverStub() = default;
  // One CHUNK_INFO per query, all in parallel.
  virtual std::vector<Result<ChunkInfoResponse>> ChunkInfoEach(const std::vector<ChunkQuery>& queries,
                                                               uint32_t timeout_ms) = 0;
  // The same chunk on several servers.
  std::vector<Result<ChunkInfoResponse>> ChunkInfo(const std::vector<std::string>& addrs, uint64_t chunk_id,
                                                   uint32_t timeout_ms) {
    std::vector<ChunkQuery> queries;
    for (const auto& a : addrs) queries.push_back({a, chunk_id});
    return ChunkInfoEach(queries, timeout_ms);
  }
  virtual std::vector<Status> Seal(const std::vector<std::string>& addrs, const SealRequest& req,
                                   uint32_t timeout_ms) = 0;
};

class RpcChunkserverStub final : public ChunkserverStub {
 public:
  explicit RpcChunkserverStub(rpc::RpcClient* client) : client_(client) {}
  std::vector<Result<ChunkInfoResponse>> ChunkInfoEach(const std::vector<ChunkQuery>& queries,
                                                       uint32_t timeout_ms) override;
  std::vector<Status> Seal(const std::vector<std::string>& addrs, const SealRequest& req,
                           uint32_t timeout_ms) override;

 private:
  rpc::RpcClient* client_;
};

}  // namespace strata::dfs::master
