#include "dfs/master/chunkserver_stub.h"

#include <future>

#include "rpc/client.h"

namespace strata::dfs::master {
namespace {

using Reply = std::future<Result<rpc::RpcReply>>;

std::vector<Reply> FanOut(rpc::RpcClient* client, const std::vector<std::string>& addrs, uint32_t method,
                          const std::string& meta, uint32_t timeout_ms) {
  std::vector<Reply> replies;
  for (const auto& addr : addrs) replies.push_back(client->CallAsync(addr, method, meta, "", timeout_ms));
  return replies;
}

Status ReplyStatus(Result<rpc::RpcReply>& reply) {
  if (!reply.ok()) return reply.status();
  return reply->status;
}

}  // namespace

std::vector<Result<ChunkInfoResponse>> RpcChunkserverStub::ChunkInfoEach(const std::vector<ChunkQuery>& queries,
                                                                         uint32_t timeout_ms) {
  std::vector<Reply> replies;
  for (const auto& q : queries) {
    ChunkInfoRequest req;
    req.set_chunk_id(q.chunk_id);
    replies.push_back(client_->CallAsync(q.addr, CHUNKSERVER_CHUNK_INFO, req.SerializeAsString(), "", timeout_ms));
  }
  std::vector<Result<ChunkInfoResponse>> out;
  for (auto& f : replies) {
    auto reply = f.get();
    Status st = ReplyStatus(reply);
    ChunkInfoResponse resp;
    if (st.ok() && !resp.ParseFromString(reply->meta)) st = Status::ProtocolError("bad ChunkInfoResponse");
    if (st.ok()) {
      out.emplace_back(std::move(resp));
    } else {
      out.emplace_back(st);
    }
  }
  return out;
}

std::vector<Status> RpcChunkserverStub::Seal(const std::vector<std::string>& addrs, const SealRequest& req,
                                             uint32_t timeout_ms) {
  auto replies = FanOut(client_, addrs, CHUNKSERVER_SEAL, req.SerializeAsString(), timeout_ms);
  std::vector<Status> out;
  for (auto& f : replies) {
    auto reply = f.get();
    out.push_back(ReplyStatus(reply));
  }
  return out;
}

}  // namespace strata::dfs::master
