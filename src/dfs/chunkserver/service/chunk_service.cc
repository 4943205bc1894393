#include "dfs/chunkserver/service/chunk_service.h"

#include "chunkserver.pb.h"
#include "common/crc32c.h"

namespace strata::dfs {
namespace {

// Larger memory appends (their CRC alone takes a while) go to the workers.
constexpr size_t kInlineAppendBytesMax = 256 << 10;

template <typename Req, typename Resp>
using Fn = std::function<Status(const Req&, std::string&, Resp*, std::string*)>;

Status HandleCreate(ChunkStore* store, const CreateChunkRequest& req, CreateChunkResponse* resp) {
  if (req.chunk_id() == 0) return Status::InvalidArgument("chunk id 0 is not a chunk (ids start at 1)");
  ASSIGN_OR_RETURN(uint32_t disk, store->Create(req.chunk_id(), req.epoch(), req.disk()));
  resp->set_disk(disk);
  return Status::Ok();
}

Status HandleAppend(ChunkStore* store, const AppendRequest& req, const std::string& bulk, AppendResponse* resp) {
  AppendArgs args;
  args.chunk_id = req.chunk_id();
  args.epoch = req.epoch();
  args.offset = req.offset();
  args.data = bulk;
  args.data_crc = req.data_crc();
  args.durability = req.durability() == DURABILITY_MEMORY ? WriteDurability::kMemory : WriteDurability::kSync;
  ASSIGN_OR_RETURN(uint64_t length, store->Append(args));
  resp->set_length(length);
  return Status::Ok();
}

Status HandleRead(ChunkStore* store, const ReadRequest& req, ReadResponse* resp, std::string* bulk_out) {
  RETURN_IF_ERROR(store->Read(req.chunk_id(), req.offset(), req.length(), bulk_out));
  resp->set_length(static_cast<uint32_t>(bulk_out->size()));
  resp->set_data_crc(Crc32c(*bulk_out));
  return Status::Ok();
}

Status HandleInfo(ChunkStore* store, const ChunkInfoRequest& req, ChunkInfoResponse* resp) {
  ASSIGN_OR_RETURN(ReplicaState s, store->Info(req.chunk_id()));
  resp->set_length(s.length);
  resp->set_sealed(s.sealed);
  resp->set_epoch(s.epoch);
  resp->set_disk(s.disk);
  return Status::Ok();
}

Status HandleReplicate(Replicator* replicator, const ReplicateRequest& req, ReplicateResponse* resp) {
  ReplicateJob job;
  job.chunk_id = req.chunk_id();
  job.length = req.length();
  job.epoch = req.epoch();
  job.target_disk = req.target_disk();
  for (const auto& src : req.sources()) job.source_addrs.push_back(src.addr());
  ASSIGN_OR_RETURN(Replicator::Future future, replicator->Submit(std::move(job)));
  const Result<ReplicateResult>& result = future.get();
  if (!result.ok()) return result.status();
  resp->set_length(result->length);
  resp->set_disk(result->disk);
  return Status::Ok();
}

Status HandleDiskOnline(ChunkStore* store, const DiskOnlineRequest& req, DiskOnlineResponse* resp) {
  if (req.disk() >= store->disk_count()) {
    return Status::InvalidArgument("no disk " + std::to_string(req.disk()) + " (this chunkserver has " +
                                   std::to_string(store->disk_count()) + ")");
  }
  bool was_failed = store->DiskReports(/*drain_latency=*/false)[req.disk()].failed;
  RETURN_IF_ERROR(store->ReturnDisk(req.disk(), /*forced=*/true));
  DiskReport now = store->DiskReports(/*drain_latency=*/false)[req.disk()];
  resp->set_disk(req.disk());
  resp->set_path(now.path);
  resp->set_was_failed(was_failed);
  resp->set_chunks(now.chunks);
  return Status::Ok();
}

}  // namespace

void RegisterChunkService(rpc::RpcServer* server, ChunkStore* store, Replicator* replicator) {
  server->RegisterTyped<CreateChunkRequest, CreateChunkResponse>(
      CHUNKSERVER_CREATE_CHUNK, "create_chunk",
      [store](const CreateChunkRequest& req, std::string&, CreateChunkResponse* resp, std::string*) {
        return HandleCreate(store, req, resp);
      });
  // A memory-durability append only writes to the page cache: a small one
  // runs on an I/O thread, saving two thread hand-offs of its latency. (It
  // can still wait for the replica's lock behind a slow read; the server
  // runs several I/O threads so that one such wait does not stall it.)
  server->RegisterTyped<AppendRequest, AppendResponse>(
      CHUNKSERVER_APPEND, "append",
      [store](const AppendRequest& req, std::string& bulk, AppendResponse* resp, std::string*) {
        return HandleAppend(store, req, bulk, resp);
      },
      [](const AppendRequest& req, const std::string& bulk) {
        return req.durability() == DURABILITY_MEMORY && bulk.size() <= kInlineAppendBytesMax;
      });
  server->RegisterTyped<ReadRequest, ReadResponse>(
      CHUNKSERVER_READ, "read", [store](const ReadRequest& req, std::string&, ReadResponse* resp,
                                        std::string* out) { return HandleRead(store, req, resp, out); });
  server->RegisterTyped<SealRequest, SealResponse>(
      CHUNKSERVER_SEAL, "seal", [store](const SealRequest& req, std::string&, SealResponse* resp, std::string*) {
        ASSIGN_OR_RETURN(uint64_t length, store->Seal(req.chunk_id(), req.epoch(), req.length()));
        resp->set_length(length);
        return Status::Ok();
      });
  server->RegisterTyped<SyncChunkRequest, SyncChunkResponse>(
      CHUNKSERVER_SYNC_CHUNK, "sync_chunk",
      [store](const SyncChunkRequest& req, std::string&, SyncChunkResponse* resp, std::string*) {
        ASSIGN_OR_RETURN(uint64_t length, store->Sync(req.chunk_id()));
        resp->set_length(length);
        return Status::Ok();
      });
  server->RegisterTyped<DeleteChunkRequest, DeleteChunkResponse>(
      CHUNKSERVER_DELETE_CHUNK, "delete_chunk",
      [store](const DeleteChunkRequest& req, std::string&, DeleteChunkResponse*, std::string*) {
        return store->Delete(req.chunk_id());
      });
  server->RegisterTyped<ChunkInfoRequest, ChunkInfoResponse>(
      CHUNKSERVER_CHUNK_INFO, "chunk_info",
      [store](const ChunkInfoRequest& req, std::string&, ChunkInfoResponse* resp, std::string*) {
        return HandleInfo(store, req, resp);
      });
  server->RegisterTyped<ReplicateRequest, ReplicateResponse>(
      CHUNKSERVER_REPLICATE, "replicate",
      [replicator](const ReplicateRequest& req, std::string&, ReplicateResponse* resp, std::string*) {
        return HandleReplicate(replicator, req, resp);
      });
  server->RegisterTyped<DiskOnlineRequest, DiskOnlineResponse>(
      CHUNKSERVER_DISK_ONLINE, "disk_online",
      [store](const DiskOnlineRequest& req, std::string&, DiskOnlineResponse* resp, std::string*) {
        return HandleDiskOnline(store, req, resp);
      });
}

}  // namespace strata::dfs
