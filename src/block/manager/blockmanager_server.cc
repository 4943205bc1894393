#include "block/manager/blockmanager_server.h"

#include <filesystem>

#include <spdlog/spdlog.h>

#include "meta/rocksdb_meta_store.h"

namespace strata::block::manager {

BlockManagerServer::BlockManagerServer(BlockManagerServerOptions options, std::shared_ptr<Clock> clock)
    : options_(std::move(options)), clock_(std::move(clock)) {}

BlockManagerServer::~BlockManagerServer() { Stop(); }

Status BlockManagerServer::Start() {
  RETURN_IF_ERROR(options_.manager.Validate());
  if (options_.data_dir.empty()) return Status::InvalidArgument("blockmanager: a data directory is required");
  if (options_.dfs_master.empty()) return Status::InvalidArgument("blockmanager: the dfs master address is required");
  std::error_code ec;
  std::filesystem::create_directories(options_.data_dir, ec);
  if (ec) return Status::IoError("create data dir " + options_.data_dir + ": " + ec.message());
  ASSIGN_OR_RETURN(auto store, meta::RocksDbMetaStore::Open(options_.data_dir + "/meta"));
  store_ = std::move(store);
  // Deletions are retried by the tick: one attempt must not hold it for
  // the client's usual minute of retries.
  dfs::DfsClientOptions dfs_options;
  dfs_options.master = options_.dfs_master;
  dfs_options.rpc_timeout_ms = options_.manager.dfs_rpc_timeout_ms;
  dfs_options.master_retry_ms_max = options_.manager.dfs_rpc_timeout_ms;
  dfs_options.master_first_contact_ms_max = options_.manager.dfs_rpc_timeout_ms;
  dfs_options.auth = options_.auth;
  dfs_ = std::make_unique<dfs::DfsClient>(dfs_options);
  deleter_ = std::make_unique<DfsVolumeDataDeleter>(dfs_.get());
  service_ = std::make_unique<BlockManagerService>(store_.get(), clock_.get(), deleter_.get(), &metrics_,
                                                   options_.manager);
  RETURN_IF_ERROR(service_->Start());

  rpc::RpcServerOptions rpc_options;
  rpc_options.host = options_.host;
  rpc_options.port = options_.port;
  rpc_options.auth = options_.auth;
  rpc_ = std::make_unique<rpc::RpcServer>(rpc_options, &metrics_);
  RegisterMethods();
  ASSIGN_OR_RETURN(rpc_port_, rpc_->Start());
  if (options_.http_port >= 0) {
    http_ = std::make_unique<AdminHttpServer>(&metrics_, [this] { return service_->StatusJson(); });
    ASSIGN_OR_RETURN(http_port_, http_->Start(options_.host, options_.http_port));
  }
  service_->SetAdvertisedAddress(options_.host + ":" + std::to_string(rpc_port_));
  ticker_ = std::thread([this] { TickLoop(); });
  spdlog::info("blockmanager: serving RPC on {}:{}, HTTP on port {}, metadata in {}, dfs master {}", options_.host,
               rpc_port_, http_port_, options_.data_dir, options_.dfs_master);
  return Status::Ok();
}

void BlockManagerServer::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  if (rpc_) rpc_->Stop();
  if (http_) http_->Stop();
}

void BlockManagerServer::TickLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(options_.manager.tick_interval_ms));
    if (stopping_) break;
    lock.unlock();
    service_->Tick();
    lock.lock();
  }
}

namespace {

template <typename Req, typename Resp>
void Bind(rpc::RpcServer* rpc, BlockManagerMethod method, const char* name, BlockManagerService* service,
          Status (BlockManagerService::*fn)(const Req&, Resp*)) {
  rpc->RegisterTyped<Req, Resp>(method, name, [service, fn](const Req& req, std::string&, Resp* resp, std::string*) {
    return (service->*fn)(req, resp);
  });
}

}  // namespace

void BlockManagerServer::RegisterMethods() {
  rpc::RpcServer* r = rpc_.get();
  BlockManagerService* s = service_.get();
  Bind(r, BM_CREATE_VOLUME, "bm_create_volume", s, &BlockManagerService::CreateVolume);
  Bind(r, BM_LIST_VOLUMES, "bm_list_volumes", s, &BlockManagerService::ListVolumes);
  Bind(r, BM_GET_VOLUME, "bm_get_volume", s, &BlockManagerService::GetVolume);
  Bind(r, BM_RESIZE_VOLUME, "bm_resize_volume", s, &BlockManagerService::ResizeVolume);
  Bind(r, BM_DELETE_VOLUME, "bm_delete_volume", s, &BlockManagerService::DeleteVolume);
  Bind(r, BM_REGISTER, "bm_register", s, &BlockManagerService::Register);
  Bind(r, BM_HEARTBEAT, "bm_heartbeat", s, &BlockManagerService::Heartbeat);
  Bind(r, BM_STATUS, "bm_status", s, &BlockManagerService::GetStatus);
}

}  // namespace strata::block::manager
