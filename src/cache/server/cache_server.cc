#include "cache/server/cache_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include <spdlog/spdlog.h>

#include "cache/protocol/memcache/memcache_handler.h"
#include "cache/protocol/resp/resp_handler.h"
#include "cache/server/connection.h"

namespace strata::cache {

namespace {
constexpr uint64_t kTickMicros = 100'000;
constexpr size_t kMaxHotKeySeries = 1000;  // bound on distinct key labels ever exported
}  // namespace

CacheServer::CacheServer(const CacheOptions& options, std::shared_ptr<Clock> clock)
    : options_(options), clock_(std::move(clock)), table_(resp::BuildCommandTable()) {}

CacheServer::~CacheServer() { Stop(); }

CacheServer::Listener::~Listener() { ::close(fd_); }

// Accepts everything pending (the socket is level-triggered and
// non-blocking), then waits for the next report.
void CacheServer::Listener::OnEvents(uint32_t) {
  for (;;) {
    int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      server_->Adopt(fd, resp_);
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) spdlog::warn("accept failed: {}", std::strerror(errno));
    return;  // EMFILE and the like: the connection stays queued for the next round
  }
}

Result<int> CacheServer::Listen(int port, bool resp, std::unique_ptr<Listener>* listener) {
  std::string where = options_.host + ":" + std::to_string(port);
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = ::getaddrinfo(options_.host.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (rc != 0) return Status::InvalidArgument("bad --host " + options_.host + ": " + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owned(found, ::freeaddrinfo);
  int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::FromErrno(errno, "socket for " + where);
  auto l = std::make_unique<Listener>(this, fd, resp);  // closes fd from here on
  int one = 1;
  (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, found->ai_addr, found->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0) {
    return Status::Unavailable("listen on " + where + ": " + std::strerror(errno));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0) {
    return Status::FromErrno(errno, "getsockname for " + where);
  }
  int bound_port = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                               : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  RETURN_IF_ERROR(workers_[0]->loop.Add(fd, EPOLLIN, l.get()));
  *listener = std::move(l);
  return bound_port;
}

// Runs on worker 0's thread (the listeners' loop).
void CacheServer::Adopt(int fd, bool resp) {
  if (stopping_ || core_->clients()->size() >= options_.max_connections) {
    ::close(fd);
    return;
  }
  uint64_t id = core_->NextClientId();
  std::unique_ptr<ProtocolHandler> h;
  if (resp) h = std::make_unique<resp::RespHandler>(core_.get(), &table_, id);
  else h = std::make_unique<memcache::MemcacheHandler>(core_.get(), id);
  Worker* w = workers_[next_worker_.fetch_add(1) % workers_.size()].get();
  auto conn = std::make_unique<Connection>(fd, &w->conns, core_.get(), std::move(h), id, resp ? "resp" : "memcache");
  if (w == workers_[0].get()) {
    w->conns.Start(std::move(conn));
    return;
  }
  // std::function needs a copyable closure: carry the connection in a shared_ptr.
  auto carried = std::make_shared<std::unique_ptr<Connection>>(std::move(conn));
  w->loop.Post([w, carried] { w->conns.Start(std::move(*carried)); });
}

Status CacheServer::Start() {
  if (options_.threads < 1 || options_.threads > 256) return Status::InvalidArgument("--threads must be 1..256");
  core_ = std::make_unique<CacheCore>(options_, clock_.get(), &metrics_);
  RETURN_IF_ERROR(core_->Open());
  for (int i = 0; i < options_.threads; i++) {
    workers_.push_back(std::make_unique<Worker>(clock_.get(), options_.poll_us));
    RETURN_IF_ERROR(workers_.back()->loop.Open());
  }
  ASSIGN_OR_RETURN(resp_port_, Listen(options_.port_resp, true, &resp_listener_));
  ASSIGN_OR_RETURN(memcache_port_, Listen(options_.port_memcache, false, &memcache_listener_));
  admin_ = std::make_unique<AdminHttpServer>(&metrics_, [this] { return StatusJson(); });
  ASSIGN_OR_RETURN(http_port_, admin_->Start(options_.host, options_.http_port));
  for (auto& w : workers_) {
    w->thread = std::thread([loop = &w->loop] { loop->Run(); });
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
  for (auto& w : workers_) w->loop.Stop();
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
  // Connections go before the core they point to, loops after every
  // connection (a wake-up may still post to any loop until all are gone).
  resp_listener_.reset();
  memcache_listener_.reset();
  for (auto& w : workers_) w->conns.Clear();
  workers_.clear();
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
