#include "dfs/master/master_server.h"

#include <algorithm>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "meta/rocksdb_meta_store.h"

namespace strata::dfs::master {

MasterServer::MasterServer(MasterServerOptions options, std::shared_ptr<Clock> clock)
    : options_(std::move(options)), clock_(std::move(clock)) {}

MasterServer::~MasterServer() { Stop(); }

Status MasterServer::Start() {
  RETURN_IF_ERROR(options_.master.Validate());
  std::error_code ec;
  std::filesystem::create_directories(options_.data_dir, ec);
  if (ec) return Status::IoError("create data dir " + options_.data_dir + ": " + ec.message());
  ASSIGN_OR_RETURN(auto store, meta::RocksDbMetaStore::Open(options_.data_dir + "/meta"));
  store_ = std::move(store);
  rpc::RpcClientOptions client_options;
  client_options.default_timeout_ms = options_.master.chunkserver_rpc_timeout_ms;
  client_options.connect_timeout_ms = options_.master.chunkserver_rpc_timeout_ms;
  client_options.auth = options_.auth;
  client_ = std::make_unique<rpc::RpcClient>(client_options);
  stub_ = std::make_unique<RpcChunkserverStub>(client_.get());
  service_ = std::make_unique<MasterService>(store_.get(), clock_.get(), stub_.get(), &metrics_, options_.master);
  RETURN_IF_ERROR(service_->Start());

  rpc::RpcServerOptions rpc_options;
  rpc_options.host = options_.host;
  rpc_options.port = options_.port;
  rpc_options.max_connections = options_.master.rpc_connections_max;
  rpc_options.idle_timeout_ms = options_.master.rpc_idle_timeout_ms;
  rpc_options.frame_timeout_ms = options_.master.rpc_frame_timeout_ms;
  rpc_options.max_frame_bytes_total = options_.master.rpc_frame_memory_bytes_max;
  rpc_options.auth = options_.auth;
  // Allocations waiting for registrations after the start hold workers:
  // registrations must still find free ones.
  rpc_options.worker_threads = std::max<int>(
      rpc_options.worker_threads, static_cast<int>(options_.master.startup_allocations_waiting_max) + 4);
  rpc_ = std::make_unique<rpc::RpcServer>(rpc_options, &metrics_);
  RegisterMethods();
  ASSIGN_OR_RETURN(rpc_port_, rpc_->Start());
  if (options_.http_port >= 0) {
    http_ = std::make_unique<AdminHttpServer>(&metrics_, [this] { return service_->StatusJson(); });
    ASSIGN_OR_RETURN(http_port_, http_->Start(options_.host, options_.http_port));
  }
  service_->SetAdvertisedAddress(options_.host + ":" + std::to_string(rpc_port_));
  ticker_ = std::thread([this] { TickLoop(); });
  spdlog::info("master: serving RPC on {}:{}, HTTP on port {}, metadata in {}", options_.host, rpc_port_, http_port_,
               options_.data_dir);
  return Status::Ok();
}

void MasterServer::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  if (service_) service_->StopWaiting();
  if (rpc_) rpc_->Stop();
  if (http_) http_->Stop();
}

void MasterServer::TickLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(options_.master.tick_interval_ms));
    if (stopping_) break;
    lock.unlock();
    service_->Tick();
    lock.lock();
  }
}

namespace {

template <typename Req, typename Resp>
void Bind(rpc::RpcServer* rpc, MasterMethod method, const char* name, MasterService* service,
          Status (MasterService::*fn)(const Req&, Resp*)) {
  rpc->RegisterTyped<Req, Resp>(method, name, [service, fn](const Req& req, std::string&, Resp* resp, std::string*) {
    return (service->*fn)(req, resp);
  });
}

// ALLOCATE_CHUNK also gets the caller's timeout: a wait for chunkservers
// after the start ends in time for the answer to reach the caller.
void BindAllocate(rpc::RpcServer* rpc, MasterService* service) {
  rpc->Register(MASTER_ALLOCATE_CHUNK, "allocate_chunk", [service](rpc::RpcRequest& req) {
    rpc::RpcReply reply;
    AllocateChunkRequest parsed;
    if (!parsed.ParseFromString(req.meta)) {
      reply.status = Status::InvalidArgument("cannot parse request message");
      return reply;
    }
    AllocateChunkResponse resp;
    reply.status = service->AllocateChunk(parsed, &resp, req.timeout_ms);
    if (reply.status.ok()) resp.SerializeToString(&reply.meta);
    return reply;
  });
}

}  // namespace

void MasterServer::RegisterMethods() {
  rpc::RpcServer* r = rpc_.get();
  MasterService* s = service_.get();
  Bind(r, MASTER_MKDIR, "mkdir", s, &MasterService::Mkdir);
  Bind(r, MASTER_CREATE, "create", s, &MasterService::Create);
  Bind(r, MASTER_STAT, "stat", s, &MasterService::Stat);
  Bind(r, MASTER_LIST, "list", s, &MasterService::List);
  Bind(r, MASTER_RENAME, "rename", s, &MasterService::Rename);
  Bind(r, MASTER_DELETE, "delete", s, &MasterService::Delete);
  Bind(r, MASTER_OPEN_WRITE, "open_write", s, &MasterService::OpenWrite);
  BindAllocate(r, s);
  Bind(r, MASTER_SEAL_CHUNK, "seal_chunk", s, &MasterService::SealChunk);
  Bind(r, MASTER_CLOSE_WRITE, "close_write", s, &MasterService::CloseWrite);
  Bind(r, MASTER_RENEW_LEASE, "renew_lease", s, &MasterService::RenewLease);
  Bind(r, MASTER_REPORT_BAD_REPLICA, "report_bad_replica", s, &MasterService::ReportBadReplica);
  Bind(r, MASTER_REGISTER, "register", s, &MasterService::Register);
  Bind(r, MASTER_HEARTBEAT, "heartbeat", s, &MasterService::Heartbeat);
  Bind(r, MASTER_CLUSTER_STATUS, "cluster_status", s, &MasterService::ClusterStatus);
}

}  // namespace strata::dfs::master
