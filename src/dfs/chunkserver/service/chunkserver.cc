#include "dfs/chunkserver/service/chunkserver.h"

#include "common/logging.h"
#include "dfs/chunkserver/service/chunk_service.h"
#include "dfs/chunkserver/service/disk_media.h"

namespace strata::dfs {

Result<std::unique_ptr<Chunkserver>> Chunkserver::Start(ChunkserverOptions options, std::shared_ptr<FileSystem> fs,
                                                        std::shared_ptr<Clock> clock) {
  RETURN_IF_ERROR(options.Validate());
  std::unique_ptr<Chunkserver> cs(new Chunkserver(std::move(options)));
  Status st = cs->StartParts(std::move(fs), std::move(clock));
  if (!st.ok()) {
    cs->Stop();
    return st;
  }
  return cs;
}

Status Chunkserver::StartParts(std::shared_ptr<FileSystem> fs, std::shared_ptr<Clock> clock) {
  std::shared_ptr<FaultInjectingFileSystem> fault_fs;
  if (options_.fault_injection) {
    fault_fs = std::make_shared<FaultInjectingFileSystem>(fs, clock, clock->NowMicros());
    fs = fault_fs;
    spdlog::warn("chunkserver {}: fault injection is enabled (strata debug disk-fault)", options_.id);
  }
  fault_control_ = std::make_unique<DiskFaultControl>(fault_fs, options_.store.disk_paths);
  // A disk that cannot be opened is marked failed; the others serve.
  ASSIGN_OR_RETURN(store_, ChunkStore::Open(options_.store, fs, clock, &metrics_));
  store_->SetCorruptionListener([this](uint64_t chunk_id, const std::string& reason) {
    spdlog::error("corrupt replica of chunk {}: {}", ChunkIdHex(chunk_id), reason);
    if (MasterLink* link = corruption_sink_.load()) link->ReportCorruption(chunk_id, reason);
  });
  store_->SetFlushFailureListener([this](uint64_t chunk_id, const std::string& reason) {
    spdlog::error("replica of chunk {} lost its durability promise: {}", ChunkIdHex(chunk_id), reason);
    if (MasterLink* link = corruption_sink_.load()) link->ReportCorruption(chunk_id, reason);
  });
  rpc_client_ = std::make_unique<rpc::RpcClient>(rpc::RpcClientOptions{.auth = options_.auth});
  replicator_ = std::make_unique<Replicator>(options_.replicate, store_.get(), rpc_client_.get(), clock, &metrics_);
  replicator_->Start();

  rpc::RpcServerOptions rpc_options;
  rpc_options.host = options_.host;
  rpc_options.port = options_.port;
  rpc_options.worker_threads = options_.rpc_worker_threads;
  rpc_options.io_threads = options_.rpc_io_threads;
  rpc_options.max_connections = options_.rpc_connections_max;
  rpc_options.idle_timeout_ms = options_.rpc_idle_timeout_ms;
  rpc_options.frame_timeout_ms = options_.rpc_frame_timeout_ms;
  rpc_options.max_frame_bytes_total = options_.rpc_frame_memory_bytes_max;
  rpc_options.auth = options_.auth;
  rpc_server_ = std::make_unique<rpc::RpcServer>(rpc_options, &metrics_);
  RegisterChunkService(rpc_server_.get(), store_.get(), replicator_.get());
  fault_control_->Register(rpc_server_.get());
  ASSIGN_OR_RETURN(rpc_port_, rpc_server_->Start());
  addr_ = options_.host + ":" + std::to_string(rpc_port_);

  http_ = std::make_unique<AdminHttpServer>(&metrics_, [this] { return StatusJson(); });
  ASSIGN_OR_RETURN(http_port_, http_->Start(options_.host, options_.http_port));
  http_addr_ = options_.host + ":" + std::to_string(http_port_);

  if (!options_.master.empty()) {
    MasterLinkIdentity identity{options_.id, addr_, http_addr_, options_.rack, {}};
    for (const auto& path : options_.store.disk_paths) identity.disk_media.push_back(DetectDiskMedia(path));
    master_link_ = std::make_unique<MasterLink>(options_, identity, store_.get(), replicator_.get(),
                                                rpc_client_.get(), clock, &metrics_);
    corruption_sink_ = master_link_.get();
    master_link_->Start();
  }
  scrubber_ = std::make_unique<Scrubber>(options_.scrub, store_.get(), clock, &metrics_);
  scrubber_->Start();
  spdlog::info("chunkserver {} serving on {} (http {}), rack {}, {} disks, {} replicas", options_.id, addr_,
               http_addr_, options_.rack, store_->disk_count(), store_->ListReplicas().size());
  return Status::Ok();
}

Chunkserver::~Chunkserver() { Stop(); }

// Reverse order of Start: nothing new arrives, then work in flight ends.
void Chunkserver::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (scrubber_) scrubber_->Stop();
  corruption_sink_ = nullptr;
  if (master_link_) master_link_->Stop();
  if (replicator_) replicator_->Stop();
  if (rpc_server_) rpc_server_->Stop();
  if (http_) http_->Stop();
}

nlohmann::json Chunkserver::StatusJson() {
  nlohmann::json disks = nlohmann::json::array();
  for (const DiskReport& d : store_->DiskReports(/*drain_latency=*/false)) {
    strata::DiskFault fault = fault_control_->Get(d.index).value_or(strata::DiskFault{});
    nlohmann::json fault_json = nlohmann::json::object();
    if (fault.any()) {
      fault_json = {{"latency_ms", fault.latency_ms},
                    {"error_rate", fault.error_rate},
                    {"no_space", fault.no_space},
                    {"frozen", fault.frozen}};
    }
    disks.push_back({{"index", d.index},
                     {"path", d.path},
                     {"disk_id", d.disk_id},
                     {"cluster_id", d.cluster_id},
                     {"failed", d.failed},
                     {"failure", d.failure},
                     {"capacity_bytes", d.capacity_bytes},
                     {"free_bytes", d.free_bytes},
                     {"used_bytes", d.used_bytes},
                     {"chunks", d.chunks},
                     {"write_p50_us", d.write_p50_us},
                     {"write_p99_us", d.write_p99_us},
                     {"memory_unsynced_bytes", store_->flusher()->DirtyBytes(d.index)},
                     {"fault", fault_json}});
  }
  return {{"role", "chunkserver"},
          {"id", options_.id},
          {"addr", addr_},
          {"http_addr", http_addr_},
          {"rack", options_.rack},
          {"master", options_.master},
          {"registered", master_link_ ? master_link_->registered() : false},
          {"chunks", store_->ListReplicas().size()},
          {"copies_in_flight", replicator_->in_flight()},
          {"fault_injection", fault_control_->enabled()},
          {"disks", disks}};
}

}  // namespace strata::dfs
