#include "rpc/server.h"

#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "common/logging.h"
#include "rpc/frame_io.h"
#include "rpc/handshake_io.h"

namespace strata::rpc {
namespace {

using Clock = std::chrono::steady_clock;

int64_t NowNs() { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count(); }

int64_t MsToNs(uint32_t ms) { return int64_t{ms} * 1'000'000; }

struct Method {
  std::string name;
  RpcServer::Handler handler;
  RpcServer::AsyncHandler async_handler;  // set instead of handler for an asynchronous method
  RpcServer::InlinePredicate run_inline;
  Counter* calls = nullptr;
  Counter* errors = nullptr;
  Histogram* latency = nullptr;
};

}  // namespace

class RpcServer::Impl {
 public:
  Impl(RpcServerOptions options, MetricsRegistry* metrics)
      : options_(std::move(options)),
        metrics_(metrics),
        acceptor_(io_),
        sweep_timer_(io_),
        workers_(static_cast<size_t>(std::max(1, options_.worker_threads))),
        memory_(options_.max_frame_bytes_total, options_.frame_timeout_ms, metrics) {
    protocol_errors_ = metrics_->GetCounter("strata_rpc_protocol_errors_total",
                                            "Connections closed because of a malformed frame");
    connections_ = metrics_->GetGauge("strata_rpc_connections", "Open RPC connections");
    refused_ = metrics_->GetCounter("strata_rpc_connections_refused_total",
                                    "Connections closed at accept: the limit was reached and none was idle");
    evicted_ = metrics_->GetCounter("strata_rpc_connections_evicted_total",
                                    "Idle connections closed to make room for a new one at the limit");
    closed_idle_ = metrics_->GetCounter("strata_rpc_connections_closed_idle_total",
                                        "Connections closed after idle_timeout_ms with nothing in flight");
    frame_timeouts_ = metrics_->GetCounter("strata_rpc_frame_timeouts_total",
                                           "Connections closed because a frame did not arrive within frame_timeout_ms");
    auth_failures_ = metrics_->GetCounter("strata_rpc_auth_failures_total",
                                          "Connections refused: the peer did not prove it knows the cluster secret");
  }

  class Connection : public std::enable_shared_from_this<Connection> {
   public:
    Connection(Impl* server, asio::ip::tcp::socket socket)
        : server_(server), socket_(std::move(socket)), reader_(server->options_.limits, &server->memory_) {
      asio::error_code ec;
      auto ep = socket_.remote_endpoint(ec);
      peer_ = ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
      socket_.set_option(asio::ip::tcp::no_delay(true), ec);
      sendq_.Open(socket_.native_handle());
    }

    void Start() {
      asio::co_spawn(socket_.get_executor(), ReadLoop(shared_from_this()), asio::detached);
    }

    // Any thread (a worker, or the strand for a request served inline):
    // sends the reply at once when nothing is queued before it, without a
    // hop to the I/O thread; otherwise the write loop sends it after the
    // others.
    void Reply(OutFrame frame) {
      last_active_ns_.store(NowNs(), std::memory_order_relaxed);
      pending_--;
      switch (sendq_.Send(std::move(frame))) {
        case FrameSendQueue::Sent::kStartWriter:
          asio::co_spawn(socket_.get_executor(), WriteLoop(shared_from_this()), asio::detached);
          break;
        case FrameSendQueue::Sent::kFailed:
          Close();
          break;
        default:
          break;
      }
    }

    void Close() {
      closing_.store(true);
      asio::post(socket_.get_executor(), [self = shared_from_this()] { self->CloseOnStrand(); });
    }

    // REQUIRES: no thread runs the io_context (used by Stop()).
    void CloseNow() { CloseOnStrand(); }

    const std::string& peer() const { return peer_; }

    // Any thread (the acceptor and the sweep ask). Idle: nothing in flight
    // and no frame started.
    bool idle() const { return pending_.load() == 0 && reader_.frame_started_ns() == 0; }
    bool closing() const { return closing_.load(); }
    int64_t last_active_ns() const { return last_active_ns_.load(std::memory_order_relaxed); }
    int64_t frame_started_ns() const { return reader_.frame_started_ns(); }

   private:
    static asio::awaitable<void> ReadLoop(std::shared_ptr<Connection> self) {
      const RpcAuth* auth = self->server_->options_.auth.get();
      if (auth && !co_await self->Authenticate(*auth)) {
        self->CloseOnStrand();
        co_return;
      }
      while (!self->closed_) {
        auto frame = co_await self->reader_.Read(self->socket_);
        if (!frame.ok()) {
          if (frame.status().code() == StatusCode::kProtocolError) {
            self->server_->protocol_errors_->Add();
            spdlog::warn("rpc: closing connection from {}: {}", self->peer_, frame.status().message());
          } else if (frame.status().code() == StatusCode::kResourceExhausted && !self->closed_) {
            spdlog::warn("rpc: closing connection from {}: {}", self->peer_, frame.status().message());
          }
          break;
        }
        self->last_active_ns_.store(NowNs(), std::memory_order_relaxed);
        if (frame->header.is_reply()) {
          self->server_->protocol_errors_->Add();
          spdlog::warn("rpc: closing connection from {}: reply frame sent to a server", self->peer_);
          break;
        }
        self->Dispatch(std::move(*frame));
      }
      self->CloseOnStrand();
    }

    static asio::awaitable<void> WriteLoop(std::shared_ptr<Connection> self) {
      Status st = co_await DrainSendQueue(self->socket_, self->sendq_);
      if (!st.ok()) self->CloseOnStrand();
    }

    // The handshake (rpc/auth.h), within frame_timeout_ms; false: refused
    // (counted and logged), the connection is to be closed.
    asio::awaitable<bool> Authenticate(const RpcAuth& auth) {
      asio::steady_timer deadline(socket_.get_executor());
      deadline.expires_after(std::chrono::milliseconds(server_->options_.frame_timeout_ms));
      deadline.async_wait([self = shared_from_this()](const asio::error_code& ec) {
        asio::error_code ignored;
        if (!ec) self->socket_.close(ignored);
      });
      auto session = co_await RunServerHandshake(socket_, auth);
      deadline.cancel();
      if (!session.ok()) {
        if (session.status().code() == StatusCode::kUnavailable) {
          spdlog::debug("rpc: connection from {} closed before authenticating: {}", peer_, session.status().message());
        } else {
          server_->auth_failures_->Add();
          spdlog::warn("rpc: refusing connection from {}: {}", peer_, session.status().message());
        }
        co_return false;
      }
      reader_.SetMac(std::move(session->receive));
      sendq_.SetMac(std::move(session->send));
      co_return true;
    }

    void Dispatch(Frame frame) {
      FrameHeader reply_header;
      reply_header.flags = kFlagReply;
      reply_header.method = frame.header.method;
      reply_header.request_id = frame.header.request_id;
      if (pending_ >= server_->options_.max_pending_per_connection) {
        frame.hold.Release();
        pending_++;
        reply_header.status = static_cast<uint16_t>(StatusCode::kResourceExhausted);
        Reply(MakeOutFrame(reply_header, "too many requests in flight on this connection", ""));
        return;
      }
      pending_++;
      auto req = std::make_shared<RpcRequest>();
      req->method = frame.header.method;
      req->request_id = frame.header.request_id;
      req->timeout_ms = frame.header.timeout_ms;
      req->meta = std::move(frame.meta);
      req->bulk = std::move(frame.bulk);
      req->peer = peer_;
      const Method* method = server_->FindMethod(req->method);
      // The request's frame memory goes back once it was answered.
      auto hold = std::make_shared<FrameMemory::Hold>(std::move(frame.hold));
      auto serve = [self = shared_from_this(), req, method, reply_header, hold]() mutable {
        RpcReply reply = self->server_->Run(method, *req);
        hold->Release();
        reply_header.status = static_cast<uint16_t>(reply.status.code());
        if (!reply.status.ok()) {
          reply.meta = reply.status.message();
          reply.bulk.clear();
        }
        self->Reply(MakeOutFrame(reply_header, std::move(reply.meta), std::move(reply.bulk)));
      };
      if (method && method->async_handler) {
        StartAsync(method, req, reply_header, hold);
        return;
      }
      const bool run_inline = method && method->run_inline && method->run_inline(*req);
      if (frame.header.is_ordered()) {
        RunOrdered(std::move(serve), run_inline);
      } else if (run_inline) {
        serve();
      } else {
        asio::post(server_->workers_, [serve = std::move(serve)]() mutable { serve(); });
      }
    }

    // On the strand: starts an asynchronous method; its responder replies
    // (once) from whichever thread finishes the work.
    void StartAsync(const Method* method, const std::shared_ptr<RpcRequest>& req, FrameHeader reply_header,
                    std::shared_ptr<FrameMemory::Hold> hold) {
      server_->AsyncStarted();
      auto start = std::chrono::steady_clock::now();
      auto respond = [self = shared_from_this(), method, reply_header, hold, start,
                      answered = std::make_shared<std::atomic<bool>>(false)](RpcReply reply) mutable {
        if (answered->exchange(true)) return;
        hold->Release();
        self->server_->Count(*method, reply.status, start);
        reply_header.status = static_cast<uint16_t>(reply.status.code());
        if (!reply.status.ok()) {
          reply.meta = reply.status.message();
          reply.bulk.clear();
        }
        self->Reply(MakeOutFrame(reply_header, std::move(reply.meta), std::move(reply.bulk)));
        self->server_->AsyncFinished();
      };
      method->async_handler(*req, std::move(respond));
    }

    // On the strand: runs `serve` after every earlier ordered request of
    // this connection finished; inline when it may and none is waiting.
    void RunOrdered(std::function<void()> serve, bool run_inline) {
      {
        std::lock_guard lock(ordered_mu_);
        if (ordered_busy_ || !ordered_.empty() || !run_inline) {
          ordered_.push_back(std::move(serve));
          if (!ordered_busy_) {
            ordered_busy_ = true;
            asio::post(server_->workers_, [self = shared_from_this()] { self->DrainOrdered(); });
          }
          return;
        }
        ordered_busy_ = true;
      }
      serve();
      std::lock_guard lock(ordered_mu_);
      ordered_busy_ = false;
      if (!ordered_.empty()) {
        ordered_busy_ = true;
        asio::post(server_->workers_, [self = shared_from_this()] { self->DrainOrdered(); });
      }
    }

    // On a worker: runs the queued ordered requests one after another.
    void DrainOrdered() {
      for (;;) {
        std::function<void()> serve;
        {
          std::lock_guard lock(ordered_mu_);
          if (ordered_.empty()) {
            ordered_busy_ = false;
            return;
          }
          serve = std::move(ordered_.front());
          ordered_.pop_front();
        }
        serve();
      }
    }

    void CloseOnStrand() {
      if (closed_) return;
      closed_ = true;
      sendq_.Close([this] {
        asio::error_code ec;
        socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
        socket_.close(ec);
      });
      server_->Forget(this);
    }

    Impl* server_;
    asio::ip::tcp::socket socket_;
    FrameReader reader_;  // used by ReadLoop only
    std::string peer_;
    bool closed_ = false;  // on the strand
    std::atomic<uint32_t> pending_{0};  // requests read and not yet answered
    std::atomic<int64_t> last_active_ns_{NowNs()};  // a frame read or a reply sent
    std::atomic<bool> closing_{false};              // Close() was asked
    // Replies: sent by the thread that has one when the connection is idle,
    // else queued for the write loop on the strand.
    FrameSendQueue sendq_;
    // Ordered requests (kFlagOrdered) waiting to run, and whether one runs.
    std::mutex ordered_mu_;
    std::deque<std::function<void()>> ordered_;  // GUARDED_BY(ordered_mu_)
    bool ordered_busy_ = false;                      // GUARDED_BY(ordered_mu_)
  };

  const Method* FindMethod(uint32_t method) const {
    auto it = methods_.find(method);
    return it == methods_.end() ? nullptr : &it->second;
  }

  // Runs `req` through its method's handler (`m` null: an unknown method).
  RpcReply Run(const Method* method, RpcRequest& req) {
    if (!method) {
      RpcReply reply;
      reply.status = Status::NotSupported("unknown rpc method " + std::to_string(req.method));
      return reply;
    }
    auto start = std::chrono::steady_clock::now();
    RpcReply reply = method->handler(req);
    Count(*method, reply.status, start);
    return reply;
  }

  // Records one answered call of `m` that started at `start`.
  void Count(const Method& m, const Status& status, std::chrono::steady_clock::time_point start) {
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    m.calls->Add();
    m.latency->Observe(static_cast<uint64_t>(micros.count()));
    if (!status.ok()) m.errors->Add();
    if (micros.count() > 1'000'000) {
      spdlog::warn("rpc: slow {}: {} ms ({})", m.name, micros.count() / 1000, status.ToString());
    }
  }

  // Asynchronous requests started and not yet answered, for Stop().
  void AsyncStarted() {
    std::lock_guard lock(async_mu_);
    async_in_flight_++;
  }
  void AsyncFinished() {
    std::lock_guard lock(async_mu_);
    if (--async_in_flight_ == 0) async_cv_.notify_all();
  }

  void RegisterAsync(uint32_t method, std::string name, AsyncHandler handler) {
    Register(method, std::move(name), Handler{}, InlinePredicate{});
    methods_[method].async_handler = std::move(handler);
  }

  void Register(uint32_t method, std::string name, Handler handler, InlinePredicate run_inline) {
    std::string labels = "method=\"" + name + "\"";
    Method m;
    m.calls = metrics_->GetCounter("strata_rpc_server_calls_total", "RPC requests served", labels);
    m.errors = metrics_->GetCounter("strata_rpc_server_errors_total", "RPC requests answered with an error", labels);
    m.latency = metrics_->GetHistogram("strata_rpc_server_latency_seconds", "RPC handler latency", labels);
    m.name = std::move(name);
    m.handler = std::move(handler);
    m.run_inline = std::move(run_inline);
    methods_[method] = std::move(m);
  }

  Result<int> Start() {
    const uint64_t frame_max = uint64_t{options_.limits.max_meta_bytes} + options_.limits.max_bulk_bytes;
    if (options_.max_frame_bytes_total < frame_max) {
      return Status::InvalidArgument("max_frame_bytes_total (" + std::to_string(options_.max_frame_bytes_total) +
                                     ") is smaller than one largest frame (" + std::to_string(frame_max) + ")");
    }
    if (options_.max_connections == 0 || options_.frame_timeout_ms == 0) {
      return Status::InvalidArgument("max_connections and frame_timeout_ms must be > 0");
    }
    asio::error_code ec;
    auto address = asio::ip::make_address(options_.host, ec);
    if (ec) return Status::InvalidArgument("bad listen address '" + options_.host + "'");
    asio::ip::tcp::endpoint ep(address, static_cast<uint16_t>(options_.port));
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status::Unavailable("cannot listen on " + options_.host + ":" + std::to_string(options_.port) + ": " +
                                 ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_, AcceptLoop(), asio::detached);
    asio::co_spawn(io_, SweepLoop(), asio::detached);
    for (int i = 0; i < std::max(1, options_.io_threads); ++i) {
      io_threads_.emplace_back([this] { io_.run(); });
    }
    return port_;
  }

  void Stop() {
    if (stopped_.exchange(true)) return;
    asio::post(io_, [this] {
      asio::error_code ec;
      acceptor_.close(ec);
      sweep_timer_.cancel();
    });
    {
      std::lock_guard lock(mu_);
      for (auto& [ptr, conn] : conns_) conn->Close();
    }
    workers_.join();
    {
      // The I/O threads still run: replies of asynchronous requests need
      // nothing else, and their connections are closing.
      std::unique_lock lock(async_mu_);
      async_cv_.wait(lock, [&] { return async_in_flight_ == 0; });
    }
    io_.stop();
    for (auto& t : io_threads_) t.join();
    io_threads_.clear();
    // Closes posted above may not have run before the loop stopped; no I/O
    // thread runs now, so close what is left directly: peers see EOF at once.
    std::map<Connection*, std::shared_ptr<Connection>> left;
    {
      std::lock_guard lock(mu_);
      left = conns_;
    }
    for (auto& [ptr, conn] : left) conn->CloseNow();
    asio::error_code ec;
    acceptor_.close(ec);
  }

  void Forget(Connection* c) {
    std::lock_guard lock(mu_);
    if (conns_.erase(c)) connections_->Add(-1);
  }

  int port() const { return port_; }

 private:
  asio::awaitable<void> AcceptLoop() {
    while (!stopped_) {
      asio::error_code ec;
      asio::ip::tcp::socket socket(asio::make_strand(io_));
      co_await acceptor_.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
        spdlog::warn("rpc: accept failed: {}", ec.message());
        continue;
      }
      if (!MakeRoom()) {
        refused_->Add();
        LogRefused(socket);
        asio::error_code ignored;
        socket.close(ignored);
        continue;
      }
      auto conn = std::make_shared<Connection>(this, std::move(socket));
      {
        std::lock_guard lock(mu_);
        conns_[conn.get()] = conn;
        connections_->Add(1);
      }
      conn->Start();
    }
  }

  // Below max_connections: true. At the limit, closes the connection idle
  // the longest to make room (true), or finds none idle (false: refuse).
  bool MakeRoom() {
    std::lock_guard lock(mu_);
    size_t open = 0;
    for (auto& [ptr, conn] : conns_) open += !conn->closing();
    if (open < options_.max_connections) return true;
    Connection* idlest = nullptr;
    for (auto& [ptr, conn] : conns_) {
      if (!conn->closing() && conn->idle() && (!idlest || conn->last_active_ns() < idlest->last_active_ns())) idlest = ptr;
    }
    if (!idlest) return false;
    evicted_->Add();
    spdlog::info("rpc: {} connections open (the limit): closing the longest idle, from {}", conns_.size(),
                 idlest->peer());
    idlest->Close();
    return true;
  }

  // At most one line a second: a peer hammering a full server fills no disk.
  void LogRefused(asio::ip::tcp::socket& socket) {
    const int64_t now = NowNs();
    if (now - last_refused_log_ns_ < 1'000'000'000) return;
    last_refused_log_ns_ = now;
    asio::error_code ec;
    auto ep = socket.remote_endpoint(ec);
    spdlog::warn("rpc: refusing connection from {}: {} connections open (max_connections), none idle; {} refused "
                 "so far",
                 ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port()), options_.max_connections,
                 refused_->Value());
  }

  // Closes the connections idle longer than idle_timeout_ms and those whose
  // frame did not arrive within frame_timeout_ms, a few times per timeout.
  asio::awaitable<void> SweepLoop() {
    uint32_t shortest = options_.frame_timeout_ms;
    if (options_.idle_timeout_ms > 0) shortest = std::min(shortest, options_.idle_timeout_ms);
    const auto period = std::chrono::milliseconds(std::clamp<uint32_t>(shortest / 4, 5, 1000));
    while (!stopped_) {
      sweep_timer_.expires_after(period);
      asio::error_code ec;
      co_await sweep_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (ec || stopped_) break;
      Sweep();
    }
  }

  void Sweep() {
    const int64_t now = NowNs();
    std::lock_guard lock(mu_);
    for (auto& [ptr, conn] : conns_) {
      if (conn->closing()) continue;
      const int64_t started = conn->frame_started_ns();
      if (started != 0 && now - started > MsToNs(options_.frame_timeout_ms)) {
        frame_timeouts_->Add();
        spdlog::warn("rpc: closing connection from {}: a frame did not arrive whole within {} ms", conn->peer(),
                     options_.frame_timeout_ms);
        conn->Close();
      } else if (options_.idle_timeout_ms > 0 && conn->idle() &&
                 now - conn->last_active_ns() > MsToNs(options_.idle_timeout_ms)) {
        closed_idle_->Add();
        spdlog::debug("rpc: closing connection from {}: idle for {} ms", conn->peer(), options_.idle_timeout_ms);
        conn->Close();
      }
    }
  }

  RpcServerOptions options_;
  MetricsRegistry* metrics_;
  Counter* protocol_errors_;
  Gauge* connections_;
  Counter* refused_;
  Counter* evicted_;
  Counter* closed_idle_;
  Counter* frame_timeouts_;
  Counter* auth_failures_;
  int64_t last_refused_log_ns_ = 0;  // the accept loop's
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer sweep_timer_;
  asio::thread_pool workers_;
  FrameMemory memory_;  // after io_: its waiters' timers are on io_'s strands
  std::vector<std::thread> io_threads_;
  std::map<uint32_t, Method> methods_;  // written before Start only
  std::mutex mu_;
  std::map<Connection*, std::shared_ptr<Connection>> conns_;  // GUARDED_BY(mu_)
  std::atomic<bool> stopped_{false};
  int port_ = 0;
  std::mutex async_mu_;
  std::condition_variable async_cv_;
  uint64_t async_in_flight_ = 0;  // GUARDED_BY(async_mu_)
};

RpcServer::RpcServer(RpcServerOptions options, MetricsRegistry* metrics)
    : impl_(std::make_unique<Impl>(std::move(options), metrics)) {}
RpcServer::~RpcServer() { Stop(); }
void RpcServer::Register(uint32_t method, std::string name, Handler handler, InlinePredicate run_inline) {
  impl_->Register(method, std::move(name), std::move(handler), std::move(run_inline));
}
void RpcServer::RegisterAsync(uint32_t method, std::string name, AsyncHandler handler) {
  impl_->RegisterAsync(method, std::move(name), std::move(handler));
}
Result<int> RpcServer::Start() { return impl_->Start(); }
void RpcServer::Stop() { impl_->Stop(); }
int RpcServer::port() const { return impl_->port(); }

}  // namespace strata::rpc
