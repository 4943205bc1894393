#include "dfs/master/master_server.h"

#include <algorithm>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "meta/leader_meta_store.h"
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
  const bool on_etcd = options_.master.meta_store == "etcd";
  if (on_etcd) {
    ASSIGN_OR_RETURN(etcd_, meta::EtcdMetaStore::Open(EtcdStoreOptions(options_.master)));
  } else {
    ASSIGN_OR_RETURN(auto store, meta::RocksDbMetaStore::Open(options_.data_dir + "/meta"));
    store_ = std::move(store);
  }
  rpc::RpcClientOptions client_options;
  client_options.default_timeout_ms = options_.master.chunkserver_rpc_timeout_ms;
  client_options.connect_timeout_ms = options_.master.chunkserver_rpc_timeout_ms;
  client_options.auth = options_.auth;
  client_ = std::make_unique<rpc::RpcClient>(client_options);
  stub_ = std::make_unique<RpcChunkserverStub>(client_.get());
  if (!on_etcd) {
    auto term = std::make_shared<Term>();
    term->service = std::make_unique<MasterService>(store_.get(), clock_.get(), stub_.get(), &metrics_, options_.master);
    RETURN_IF_ERROR(term->service->Start());
    serving_ = std::move(term);
  }

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
    http_ = std::make_unique<AdminHttpServer>(&metrics_, [this] { return StatusJson(); });
    ASSIGN_OR_RETURN(http_port_, http_->Start(options_.host, options_.http_port));
  }
  advertised_ = options_.host + ":" + std::to_string(rpc_port_);
  if (serving_) serving_->service->SetAdvertisedAddress(advertised_);
  if (on_etcd) RETURN_IF_ERROR(StartElection());
  ticker_ = std::thread([this] { TickLoop(); });
  if (on_etcd) {
    spdlog::info("master: serving RPC on {}:{}, HTTP on port {}, metadata in etcd {} under '{}' (campaigning)",
                 options_.host, rpc_port_, http_port_, options_.master.etcd_endpoints, options_.master.etcd_key_prefix);
  } else {
    spdlog::info("master: serving RPC on {}:{}, HTTP on port {}, metadata in {}", options_.host, rpc_port_,
                 http_port_, options_.data_dir);
  }
  return Status::Ok();
}

Status MasterServer::StartElection() {
  meta::LeaderElectionOptions eo;
  eo.key = "leader";
  eo.candidate = advertised_;
  eo.lease_ttl_seconds = static_cast<int>(options_.master.etcd_lease_ttl_seconds);
  ASSIGN_OR_RETURN(election_, meta::LeaderElection::Create(etcd_.get(), clock_, eo, [this](bool leader, int64_t term) {
                     if (leader) {
                       spdlog::info("master {}: leading, term {}; loading the namespace from etcd", advertised_, term);
                       cv_.notify_all();  // the tick thread loads at once
                       return;
                     }
                     spdlog::warn("master {}: no longer the leader; stopped serving metadata", advertised_);
                     DropTerm();
                   }));
  election_->Start();
  return Status::Ok();
}

void MasterServer::DropTerm() {
  std::shared_ptr<Term> old;
  {
    std::lock_guard lock(serving_mu_);
    old = std::move(serving_);
  }
  if (old) old->service->StopWaiting();
}

void MasterServer::FollowElection() {
  const int64_t term = election_->term();
  std::shared_ptr<Term> current;
  {
    std::lock_guard lock(serving_mu_);
    current = serving_;
  }
  if (current && current->term != term) {
    DropTerm();
    current = nullptr;
  }
  if (term == 0 || current) return;
  const uint64_t start_us = clock_->NowMicros();
  auto t = std::make_shared<Term>();
  t->term = term;
  t->store = std::make_unique<meta::LeaderMetaStore>(etcd_.get(), election_.get(), term);
  t->service = std::make_unique<MasterService>(t->store.get(), clock_.get(), stub_.get(), &metrics_, options_.master);
  Status st = t->service->Start();
  if (!st.ok()) {
    spdlog::warn("master {}: term {}: loading the namespace failed, retrying: {}", advertised_, term, st.ToString());
    return;
  }
  t->service->SetAdvertisedAddress(advertised_);
  {
    std::lock_guard lock(serving_mu_);
    if (election_->term() != term) return;  // lost it while loading
    serving_ = t;
  }
  spdlog::info("master {}: term {}: serving metadata ({} ms to load)", advertised_, term,
               (clock_->NowMicros() - start_us) / 1000);
}

Result<std::shared_ptr<MasterServer::Term>> MasterServer::Serving() {
  std::shared_ptr<Term> t;
  {
    std::lock_guard lock(serving_mu_);
    t = serving_;
  }
  if (!election_) {
    if (!t) return Status::Unavailable("master is stopping");
    return t;
  }
  const int64_t term = election_->term();
  if (t && t->term == term) return t;
  if (term != 0) {
    return Status::Unavailable("master " + advertised_ + " leads (term " + std::to_string(term) +
                               ") and is loading the namespace");
  }
  auto leader = election_->Leader();
  if (!leader.ok() && leader.status().code() == StatusCode::kNotFound) {
    return Status::NotLeader("master " + advertised_ + " is a standby and no master leads yet (an election is "
                             "under way)", "");
  }
  if (!leader.ok()) {
    // Nobody can lead while etcd cannot answer: say so rather than name nobody.
    return Status::NotLeader("master " + advertised_ + " is a standby and no master can lead: etcd has no quorum "
                             "or is unreachable (" + leader.status().ToString() + ")", "");
  }
  return Status::NotLeader("master " + advertised_ + " is a standby", *leader != advertised_ ? *leader : "");
}

MasterService* MasterServer::service() {
  std::lock_guard lock(serving_mu_);
  return serving_ ? serving_->service.get() : nullptr;
}

nlohmann::json MasterServer::StatusJson() {
  std::shared_ptr<Term> t;
  {
    std::lock_guard lock(serving_mu_);
    t = serving_;
  }
  nlohmann::json j = t ? t->service->StatusJson() : nlohmann::json::object();
  if (election_) {
    const int64_t term = election_->term();
    auto leader = election_->Leader();
    j["ha"] = {{"role", term != 0 ? (t && t->term == term ? "leader" : "leader_loading") : "standby"},
               {"addr", advertised_},
               {"term", term},
               {"leader", leader.ok() ? *leader : ""},
               {"etcd", options_.master.etcd_endpoints}};
  }
  return j;
}

void MasterServer::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  // Resigning hands leadership over at once instead of after the lease TTL.
  if (election_) election_->Stop();
  if (MasterService* service = this->service()) service->StopWaiting();
  if (rpc_) rpc_->Stop();
  if (http_) http_->Stop();
}

void MasterServer::TickLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(options_.master.tick_interval_ms));
    if (stopping_) break;
    lock.unlock();
    if (election_) FollowElection();
    std::shared_ptr<Term> t;
    {
      std::lock_guard serving(serving_mu_);
      t = serving_;
    }
    if (t) t->service->Tick();
    lock.lock();
  }
}

namespace {

template <typename Req, typename Resp>
void Bind(rpc::RpcServer* rpc, MasterMethod method, const char* name, MasterServer* server,
          Status (MasterService::*fn)(const Req&, Resp*)) {
  rpc->RegisterTyped<Req, Resp>(method, name, [server, fn](const Req& req, std::string&, Resp* resp, std::string*) {
    ASSIGN_OR_RETURN(auto term, server->Serving());
    return (term->service.get()->*fn)(req, resp);
  });
}

// ALLOCATE_CHUNK also gets the caller's timeout: a wait for chunkservers
// after the start ends in time for the answer to reach the caller.
void BindAllocate(rpc::RpcServer* rpc, MasterServer* server) {
  rpc->Register(MASTER_ALLOCATE_CHUNK, "allocate_chunk", [server](rpc::RpcRequest& req) {
    rpc::RpcReply reply;
    AllocateChunkRequest parsed;
    if (!parsed.ParseFromString(req.meta)) {
      reply.status = Status::InvalidArgument("cannot parse request message");
      return reply;
    }
    auto term = server->Serving();
    if (!term.ok()) {
      reply.status = term.status();
      return reply;
    }
    AllocateChunkResponse resp;
    reply.status = (*term)->service->AllocateChunk(parsed, &resp, req.timeout_ms);
    if (reply.status.ok()) resp.SerializeToString(&reply.meta);
    return reply;
  });
}

// The leader's status with its "ha" object (MasterServer::StatusJson), as
// the admin page shows it.
void BindClusterStatus(rpc::RpcServer* rpc, MasterServer* server) {
  rpc->Register(MASTER_CLUSTER_STATUS, "cluster_status", [server](rpc::RpcRequest&) {
    rpc::RpcReply reply;
    auto term = server->Serving();
    if (!term.ok()) {
      reply.status = term.status();
      return reply;
    }
    ClusterStatusResponse resp;
    resp.set_json(server->StatusJson().dump());
    resp.SerializeToString(&reply.meta);
    return reply;
  });
}

}  // namespace

void MasterServer::RegisterMethods() {
  rpc::RpcServer* r = rpc_.get();
  MasterServer* s = this;
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
  BindClusterStatus(r, s);
}

}  // namespace strata::dfs::master
