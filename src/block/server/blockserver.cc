#include "block/server/blockserver.h"

#include "common/crc32c.h"
#include "common/logging.h"

namespace strata::block {

BlockServer::BlockServer(BlockServerOptions options, std::shared_ptr<Clock> clock)
    : options_(std::move(options)), clock_(std::move(clock)), heartbeat_interval_ms_(options_.heartbeat_interval_ms) {}

BlockServer::~BlockServer() { Stop(); }

Status BlockServer::Start() {
  RETURN_IF_ERROR(options_.Validate());
  reads_ = metrics_.GetCounter("strata_blockserver_reads_total", "Read requests served");
  reads_from_memory_ = metrics_.GetCounter("strata_blockserver_reads_from_memory_total",
                                           "Read requests served without a dfs read (open file or read cache)");
  writes_ = metrics_.GetCounter("strata_blockserver_writes_total", "Write requests acknowledged");
  trims_ = metrics_.GetCounter("strata_blockserver_trims_total", "TRIM and WRITE_ZEROES requests acknowledged");
  flushes_ = metrics_.GetCounter("strata_blockserver_flushes_total", "FLUSH requests of memory volumes acknowledged");
  read_bytes_ = metrics_.GetCounter("strata_blockserver_read_bytes_total", "Bytes read by clients");
  write_bytes_ = metrics_.GetCounter("strata_blockserver_write_bytes_total", "Bytes written by clients");
  refused_ = metrics_.GetCounter("strata_blockserver_requests_refused_total",
                                 "Requests refused: segment not here, stale epoch, lease expired, failed");
  read_latency_ = metrics_.GetHistogram("strata_blockserver_read_seconds", "Read latency");
  write_latency_ = metrics_.GetHistogram("strata_blockserver_write_seconds", "Write latency until durable");

  dfs_ = std::make_unique<dfs::DfsClient>(dfs::DfsClientOptions{.master = options_.master, .auth = options_.auth});
  store_ = NewDfsLogFileStore(dfs_.get());
  read_cache_ = std::make_unique<ReadCache>(options_.read_cache_bytes);
  readers_ = std::make_unique<WorkerPool>(options_.rpc_worker_threads);
  table_ = std::make_unique<SegmentTable>(store_.get(), options_.segment, options_.segment_open_threads,
                                          options_.reopen_backoff_ms, clock_.get(), read_cache_.get());
  rpc::RpcClientOptions mo;
  mo.default_timeout_ms = options_.manager_rpc_timeout_ms;
  mo.connect_timeout_ms = options_.manager_rpc_timeout_ms;
  mo.auth = options_.auth;
  manager_rpc_ = std::make_unique<rpc::RpcClient>(mo);

  rpc::RpcServerOptions ro;
  ro.host = options_.host;
  ro.port = options_.port;
  ro.worker_threads = 4;  // status and block status only: reads have their own pool
  ro.auth = options_.auth;
  rpc_ = std::make_unique<rpc::RpcServer>(ro, &metrics_);
  RegisterMethods();
  ASSIGN_OR_RETURN(rpc_port_, rpc_->Start());
  addr_ = options_.host + ":" + std::to_string(rpc_port_);
  if (options_.http_port >= 0) {
    http_ = std::make_unique<AdminHttpServer>(&metrics_, [this] { return StatusJson(); });
    ASSIGN_OR_RETURN(http_port_, http_->Start(options_.host, options_.http_port));
  }
  heartbeater_ = std::thread([this] { HeartbeatLoop(); });
  collector_ = std::thread([this] { GcLoop(); });
  spdlog::info("blockserver {}: serving RPC on {}, HTTP on port {}, blockmanager {}, dfs master {}", options_.id,
               addr_, http_port_, options_.manager, options_.master);
  return Status::Ok();
}

void BlockServer::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (heartbeater_.joinable()) heartbeater_.join();
  if (collector_.joinable()) collector_.join();
  if (rpc_) rpc_->Stop();  // answers every read in flight, so the pool still runs
  if (readers_) readers_->Stop();
  if (table_) table_->Stop();
  if (http_) http_->Stop();
}

Status BlockServer::RegisterWithManager() {
  BmRegisterRequest req;
  req.set_server_id(options_.id);
  req.set_addr(addr_);
  if (http_port_ > 0) req.set_http_addr(options_.host + ":" + std::to_string(http_port_));
  BmRegisterResponse resp;
  RETURN_IF_ERROR(manager_rpc_->CallTyped(options_.manager, BM_REGISTER, req, &resp));
  if (resp.heartbeat_interval_ms() > 0) heartbeat_interval_ms_ = resp.heartbeat_interval_ms();
  spdlog::info("blockserver {}: registered with the blockmanager at {}", options_.id, options_.manager);
  return Status::Ok();
}

Status BlockServer::Heartbeat() {
  BmHeartbeatRequest req;
  req.set_server_id(options_.id);
  for (auto& r : table_->Reports()) *req.add_segments() = std::move(r);
  // The lease runs from the moment the request left, which is no later
  // than when the blockmanager saw it: the manager's view of when this
  // server may still be serving always ends after this server's own.
  uint64_t sent_us = clock_->NowMicros();
  BmHeartbeatResponse resp;
  RETURN_IF_ERROR(manager_rpc_->CallTyped(options_.manager, BM_HEARTBEAT, req, &resp));
  if (resp.reregister()) {
    registered_ = false;
    return Status::Unavailable("the blockmanager asked to register again");
  }
  table_->ExtendLease(sent_us + resp.lease_ms() * 1000);
  table_->Apply(std::vector<SegmentAssignment>(resp.segments().begin(), resp.segments().end()));
  heartbeats_ok_++;
  return Status::Ok();
}

void BlockServer::HeartbeatLoop() {
  uint64_t backoff_ms = 100;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    Status st = registered_ ? Status::Ok() : RegisterWithManager();
    if (st.ok()) {
      registered_ = true;
      st = Heartbeat();
    }
    if (!st.ok()) {
      spdlog::warn("blockserver {}: blockmanager {}: {}", options_.id, options_.manager, st.ToString());
      if (st.code() != StatusCode::kAlreadyExists) registered_ = registered_ && st.code() != StatusCode::kNotFound;
    }
    uint64_t wait_ms = st.ok() ? heartbeat_interval_ms_ : std::min<uint64_t>(backoff_ms, heartbeat_interval_ms_);
    backoff_ms = st.ok() ? 100 : std::min<uint64_t>(backoff_ms * 2, 2000);
    lock.lock();
    cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), [&] { return stopping_; });
  }
}

void BlockServer::GcLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(options_.gc_interval_ms), [&] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    // A segment whose clients wrote since the last pass is busy: its GC
    // waits for files to empty further (SegmentOptions).
    std::map<const Segment*, uint64_t> writes_seen;
    for (auto& seg : table_->Serving()) {
      const uint64_t writes = seg->stats().client_writes;
      auto last = gc_writes_seen_.find(seg.get());
      const bool busy = last == gc_writes_seen_.end() || last->second != writes;
      writes_seen[seg.get()] = writes;
      auto did = seg->CollectGarbage(busy);
      if (!did.ok()) spdlog::warn("blockserver: garbage collection of {}: {}", seg->dir(), did.status().ToString());
    }
    gc_writes_seen_ = std::move(writes_seen);
    lock.lock();
  }
}

namespace {

template <typename Req, typename Resp>
using Handler = std::function<Status(const Req&, std::string& bulk_in, Resp*, std::string* bulk_out)>;

}  // namespace

template <typename Req>
void BlockServer::RegisterSegmentOp(
    uint32_t method, std::string name,
    std::function<void(const Req&, std::string& bulk, Segment& seg, Segment::Done done)> start) {
  rpc_->RegisterAsync(method, std::move(name),
                      [this, start = std::move(start)](rpc::RpcRequest& rpc_req, rpc::RpcServer::Responder respond) {
                        // Every reply of these methods is an empty message.
                        auto done = [respond = std::move(respond)](Status st) { respond(rpc::RpcReply{st, "", ""}); };
                        Req req;
                        if (!req.ParseFromString(rpc_req.meta)) {
                          return done(Status::InvalidArgument("cannot parse request message"));
                        }
                        auto seg = table_->Find(req.segment());
                        if (!seg.ok()) {
                          refused_->Add();
                          return done(seg.status());
                        }
                        start(req, rpc_req.bulk, **seg, std::move(done));
                      });
}

void BlockServer::RegisterMethods() {
  auto refused = [this](Status st) {
    refused_->Add();
    return st;
  };
  // A read that finds its blocks in memory (the open data file, the read
  // cache, or never written) is answered on the I/O thread that read the
  // request; one that needs the dfs goes to the read pool.
  rpc_->RegisterAsync(BS_READ, "read", [this](rpc::RpcRequest& rpc_req, rpc::RpcServer::Responder respond) {
    const uint64_t start = clock_->NowMicros();
    auto req = std::make_shared<BsReadRequest>();
    if (!req->ParseFromString(rpc_req.meta)) {
      return respond(rpc::RpcReply{Status::InvalidArgument("cannot parse request message"), "", ""});
    }
    auto seg = table_->Find(req->segment());
    if (!seg.ok()) {
      refused_->Add();
      return respond(rpc::RpcReply{seg.status(), "", ""});
    }
    auto answer = [this, start](Result<std::string> data) {
      if (!data.ok()) return rpc::RpcReply{data.status(), "", ""};
      BsReadResponse resp;
      resp.set_data_crc(Crc32c(*data));
      reads_->Add();
      read_bytes_->Add(data->size());
      read_latency_->Observe(clock_->NowMicros() - start);
      return rpc::RpcReply{Status::Ok(), resp.SerializeAsString(), std::move(*data)};
    };
    if (auto fast = (*seg)->ReadWithoutWaiting(req->offset(), req->length())) {
      reads_from_memory_->Add();
      return respond(answer(std::move(*fast)));
    }
    auto responder = std::make_shared<rpc::RpcServer::Responder>(std::move(respond));
    bool queued = readers_->Submit([req, seg = *seg, answer, responder] {
      (*responder)(answer(seg->Read(req->offset(), req->length())));
    });
    if (!queued) (*responder)(rpc::RpcReply{Status::Unavailable("blockserver is stopping"), "", ""});
  });
  // Writes, trims and flushes wait for the segment's writer thread; they
  // are asynchronous, so no RPC worker waits with them and the writer
  // thread sends the reply itself.
  RegisterSegmentOp<BsWriteRequest>(
      BS_WRITE, "write", [this](const BsWriteRequest& req, std::string& data, Segment& seg, Segment::Done done) {
        if (Crc32c(data) != req.data_crc()) return done(Status::Corruption("write payload checksum mismatch"));
        const uint64_t start = clock_->NowMicros();
        const uint64_t bytes = data.size();
        seg.WriteAsync(req.offset(), std::move(data), [this, start, bytes, done = std::move(done)](Status st) {
          if (st.ok()) {
            writes_->Add();
            write_bytes_->Add(bytes);
            write_latency_->Observe(clock_->NowMicros() - start);
          }
          done(std::move(st));
        });
      });
  RegisterSegmentOp<BsTrimRequest>(
      BS_TRIM, "trim", [this](const BsTrimRequest& req, std::string&, Segment& seg, Segment::Done done) {
        seg.TrimAsync(req.offset(), req.length(), [this, done = std::move(done)](Status st) {
          if (st.ok()) trims_->Add();
          done(std::move(st));
        });
      });
  RegisterSegmentOp<BsFlushRequest>(
      BS_FLUSH, "flush", [this](const BsFlushRequest&, std::string&, Segment& seg, Segment::Done done) {
        seg.SyncAsync([this, done = std::move(done)](Status st) {
          if (st.ok()) flushes_->Add();
          done(std::move(st));
        });
      });
  rpc_->RegisterTyped<BsBlockStatusRequest, BsBlockStatusResponse>(
      BS_BLOCK_STATUS, "block_status",
      [this, refused](const BsBlockStatusRequest& req, std::string&, BsBlockStatusResponse* resp, std::string*) {
        auto seg = table_->Find(req.segment());
        if (!seg.ok()) return refused(seg.status());
        ASSIGN_OR_RETURN(auto runs, (*seg)->BlockStatus(req.offset(), req.length()));
        for (const auto& r : runs) {
          BsExtent* e = resp->add_extents();
          e->set_length(r.length);
          e->set_allocated(r.allocated);
        }
        return Status::Ok();
      });
  rpc_->RegisterTyped<BsStatusRequest, BsStatusResponse>(
      BS_STATUS, "status", [this](const BsStatusRequest&, std::string&, BsStatusResponse* resp, std::string*) {
        resp->set_json(StatusJson().dump());
        return Status::Ok();
      });
}

nlohmann::json BlockServer::StatusJson() {
  nlohmann::json j;
  j["id"] = options_.id;
  j["addr"] = addr_;
  j["lease_valid"] = table_->LeaseValid();
  j["heartbeats_ok"] = heartbeats_ok_.load();
  const ReadCacheStats rc = read_cache_->stats();
  j["read_cache"] = {{"capacity_bytes", rc.capacity_bytes}, {"cached_bytes", rc.cached_bytes}, {"pages", rc.pages},
                     {"hits", rc.hits},   {"misses", rc.misses}, {"primed", rc.primed},      {"evictions", rc.evictions}};
  // What the segments served now have appended to the dfs (before
  // replication): client records, GC copies among them, and checkpoints.
  SegmentStats sum;
  for (const auto& seg : table_->Serving()) {
    SegmentStats s = seg->stats();
    sum.appends += s.appends;
    sum.appended_bytes += s.appended_bytes;
    sum.gc_bytes_rewritten += s.gc_bytes_rewritten;
    sum.gc_files_collected += s.gc_files_collected;
    sum.checkpoints += s.checkpoints;
    sum.checkpoint_bytes += s.checkpoint_bytes;
  }
  j["log"] = {{"appends", sum.appends},
              {"appended_bytes", sum.appended_bytes},
              {"gc_bytes_rewritten", sum.gc_bytes_rewritten},
              {"gc_files_collected", sum.gc_files_collected},
              {"checkpoints", sum.checkpoints},
              {"checkpoint_bytes", sum.checkpoint_bytes}};
  j["segments"] = nlohmann::json::array();
  for (const auto& r : table_->Reports()) {
    j["segments"].push_back({{"volume_id", r.volume_id()}, {"index", r.index()}, {"epoch", r.epoch()},
                             {"state", r.state()}, {"error", r.error()}, {"live_bytes", r.live_bytes()},
                             {"stored_bytes", r.stored_bytes()}});
  }
  return j;
}

}  // namespace strata::block
