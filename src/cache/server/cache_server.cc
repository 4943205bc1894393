#include "cache/server/cache_server.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include "cache/protocol/memcache/memcache_handler.h"
#include "cache/protocol/resp/resp_handler.h"
#include "cache/server/connection.h"
#include "cache/server/worker_loop.h"

namespace strata::cache {

namespace {
constexpr uint64_t kTickMicros = 100'000;
constexpr size_t kMaxHotKeySeries = 1000;  // bound on distinct key labels ever exported
}  // namespace

CacheServer::CacheServer(const CacheOptions& options, std::shared_ptr<Clock> clock)
    : options_(options), clock_(std::move(clock)), table_(resp::BuildCommandTable()) {}

CacheServer::~CacheServer() { Stop(); }

Result<int> CacheServer::Listen(std::unique_ptr<asio::ip::tcp::acceptor>* acceptor, int port) {
  asio::error_code ec;
  auto addr = asio::ip::make_address(options_.host, ec);
  if (ec) return Status::InvalidArgument("bad --host " + options_.host + ": " + ec.message());
  asio::ip::tcp::endpoint ep(addr, static_cast<uint16_t>(port));
  auto a = std::make_unique<asio::ip::tcp::acceptor>(*contexts_[0]);
  a->open(ep.protocol(), ec);
  if (!ec) a->set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) a->bind(ep, ec);
  if (!ec) a->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Unavailable("listen on " + options_.host + ":" + std::to_string(port) + ": " + ec.message());
  int bound = a->local_endpoint().port();
  *acceptor = std::move(a);
  return bound;
}

void CacheServer::Accept(asio::ip::tcp::acceptor* acceptor, bool resp) {
  auto& ctx = *contexts_[next_worker_.fetch_add(1) % contexts_.size()];
  acceptor->async_accept(ctx, [this, acceptor, resp](const asio::error_code& ec, asio::ip::tcp::socket socket) {
    if (ec == asio::error::operation_aborted || stopping_) return;
    if (!ec) {
      if (core_->clients()->size() >= options_.max_connections) {
        asio::error_code ignored;
        socket.close(ignored);
      } else {
        uint64_t id = core_->NextClientId();
        std::unique_ptr<ProtocolHandler> h;
        if (resp) h = std::make_unique<resp::RespHandler>(core_.get(), &table_, id);
        else h = std::make_unique<memcache::MemcacheHandler>(core_.get(), id);
        std::make_shared<Connection>(std::move(socket), core_.get(), std::move(h), id, resp ? "resp" : "memcache")->Start();
      }
    } else {
      spdlog::warn("accept failed: {}", ec.message());
    }
    Accept(acceptor, resp);
  });
}

Status CacheServer::Start() {
  if (options_.threads < 1 || options_.threads > 256) return Status::InvalidArgument("--threads must be 1..256");
  core_ = std::make_unique<CacheCore>(options_, clock_.get(), &metrics_);
  RETURN_IF_ERROR(core_->Open());
  for (int i = 0; i < options_.threads; i++) {
    contexts_.push_back(std::make_unique<asio::io_context>(1));
    guards_.push_back(asio::make_work_guard(*contexts_.back()));
  }
  ASSIGN_OR_RETURN(resp_port_, Listen(&resp_acceptor_, options_.port_resp));
  ASSIGN_OR_RETURN(memcache_port_, Listen(&memcache_acceptor_, options_.port_memcache));
  admin_ = std::make_unique<AdminHttpServer>(&metrics_, [this] { return StatusJson(); });
  ASSIGN_OR_RETURN(http_port_, admin_->Start(options_.host, options_.http_port));
  Accept(resp_acceptor_.get(), true);
  Accept(memcache_acceptor_.get(), false);
  for (auto& ctx : contexts_) {
    threads_.emplace_back([this, c = ctx.get()] { RunWorkerLoop(*c, clock_.get(), options_.poll_us); });
  }
  maintenance_ = std::thread([this] { MaintenanceLoop(); });
  spdlog::info("cache serving resp on {}:{}, memcache on {}:{}, http on {}, memory {} bytes, {} threads, {} shards",
               options_.host, resp_port_, options_.host, memcache_port_, http_port_, options_.memory_bytes,
               options_.threads, core_->mem()->ShardCount());
  return Status::Ok();
}

void CacheServer::Stop() {
  if (stopping_.exchange(true)) return;
  if (maintenance_.joinable()) maintenance_.join();
  if (admin_) admin_->Stop();
  for (auto* a : {resp_acceptor_.get(), memcache_acceptor_.get()}) {
    if (!a) continue;
    asio::error_code ec;
    a->close(ec);
  }
  for (auto& ctx : contexts_) ctx->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  // Connections die with their contexts, before the core they point to.
  resp_acceptor_.reset();
  memcache_acceptor_.reset();
  guards_.clear();
  contexts_.clear();
  core_.reset();
}

void CacheServer::MaintenanceLoop() {
  uint64_t last_gauges = 0;
  while (!stopping_) {
    core_->Tick();
    uint64_t now = clock_->NowMicros();
    if (now - last_gauges >= 1'000'000) {
      UpdateGauges();
      last_gauges = now;
    }
    clock_->SleepMicros(kTickMicros);
  }
}

void CacheServer::UpdateGauges() {
  nlohmann::json s = core_->mem()->Stats();
  metrics_.GetGauge("strata_cache_memory_used_bytes", "Bytes of the memory budget in use")->Set(s["used_bytes"].get<double>());
  metrics_.GetGauge("strata_cache_memory_limit_bytes", "The memory budget")->Set(s["limit_bytes"].get<double>());
  metrics_.GetGauge("strata_cache_items", "Items in the mem engine")->Set(s["items"].get<double>());
  metrics_.GetGauge("strata_cache_slab_pages", "Slab pages in use")->Set(s["pages"].get<double>());
  metrics_.GetGauge("strata_cache_evictions", "Items evicted since start")->Set(s["evictions"].get<double>());
  metrics_.GetGauge("strata_cache_pages_merged", "Pages released by page merging since start")->Set(s["pages_merged"].get<double>());
  metrics_.GetGauge("strata_cache_pages_rebalanced", "Pages moved between slab classes since start")->Set(s["pages_rebalanced"].get<double>());
  metrics_.GetGauge("strata_cache_expired", "Expired items reclaimed since start")->Set(s["expired_reclaimed"].get<double>());
  for (Gauge* g : hot_gauges_) g->Set(0);
  hot_gauges_.clear();
  for (const auto& h : core_->hotkeys()->Top(10)) {
    if (hot_series_ >= kMaxHotKeySeries) break;
    std::string key = h.key.substr(1);
    for (char& c : key) {
      if (c == '"' || c == '\\' || c == '\n' || static_cast<unsigned char>(c) < 0x20) c = '_';
    }
    std::string labels = "db=\"" + std::to_string(static_cast<uint8_t>(h.key[0])) + "\",key=\"" + key + "\"";
    Gauge* r = metrics_.GetGauge("strata_cache_hotkey_reads_per_second", "Estimated reads/s of the hottest keys", labels);
    Gauge* w = metrics_.GetGauge("strata_cache_hotkey_writes_per_second", "Estimated writes/s of the hottest keys", labels);
    r->Set(h.reads_per_sec);
    w->Set(h.writes_per_sec);
    hot_gauges_.push_back(r);
    hot_gauges_.push_back(w);
    hot_series_++;
  }
}

nlohmann::json CacheServer::StatusJson() {
  nlohmann::json j;
  j["role"] = "cache";
  j["pid"] = getpid();
  j["resp_port"] = resp_port_;
  j["memcache_port"] = memcache_port_;
  j["threads"] = options_.threads;
  j["clients"] = core_->clients()->size();
  j["mem"] = core_->mem()->Stats();
  if (core_->persist()) j["persist"] = core_->persist()->Stats();
  nlohmann::json ns = nlohmann::json::array();
  for (Namespace* n : core_->namespaces()->All()) {
    uint8_t id = static_cast<uint8_t>(n->id());
    uint64_t keys = n->engine()->Count(id);
    if (keys == 0 && n->spec().name.empty() && n->spec().engine == "mem") continue;
    ns.push_back({{"id", n->id()}, {"name", n->spec().name}, {"engine", n->spec().engine}, {"keys", keys},
                  {"bytes", n->engine()->NamespaceBytes(id)}, {"quota_bytes", n->spec().quota_bytes},
                  {"ops_per_sec_limit", n->spec().ops_per_sec}});
  }
  j["namespaces"] = ns;
  nlohmann::json hot = nlohmann::json::array();
  for (const auto& h : core_->hotkeys()->Top(10)) {
    hot.push_back({{"db", static_cast<uint8_t>(h.key[0])}, {"key", h.key.substr(1)}, {"reads_per_sec", h.reads_per_sec},
                   {"writes_per_sec", h.writes_per_sec}, {"level", h.level}});
  }
  j["hotkeys"] = hot;
  return j;
}

}  // namespace strata::cache
