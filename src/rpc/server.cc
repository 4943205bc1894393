#include "rpc/server.h"

#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/logging.h"
#include "rpc/frame_io.h"

namespace strata::rpc {
namespace {

struct Method {
  std::string name;
  RpcServer::Handler handler;
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
        workers_(static_cast<size_t>(std::max(1, options_.worker_threads))) {
    protocol_errors_ = metrics_->GetCounter("strata_rpc_protocol_errors_total",
                                            "Connections closed because of a malformed frame");
    connections_ = metrics_->GetGauge("strata_rpc_connections", "Open RPC connections");
  }

  class Connection : public std::enable_shared_from_this<Connection> {
   public:
    Connection(Impl* server, asio::ip::tcp::socket socket)
        : server_(server), socket_(std::move(socket)), reader_(server->options_.limits) {
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
      asio::post(socket_.get_executor(), [self = shared_from_this()] { self->CloseOnStrand(); });
    }

    // REQUIRES: no thread runs the io_context (used by Stop()).
    void CloseNow() { CloseOnStrand(); }

    const std::string& peer() const { return peer_; }

   private:
    static asio::awaitable<void> ReadLoop(std::shared_ptr<Connection> self) {
      while (!self->closed_) {
        auto frame = co_await self->reader_.Read(self->socket_);
        if (!frame.ok()) {
          if (frame.status().code() == StatusCode::kProtocolError) {
            self->server_->protocol_errors_->Add();
            spdlog::warn("rpc: closing connection from {}: {}", self->peer_, frame.status().message());
          }
          break;
        }
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

    void Dispatch(Frame frame) {
      FrameHeader reply_header;
      reply_header.flags = kFlagReply;
      reply_header.method = frame.header.method;
      reply_header.request_id = frame.header.request_id;
      if (pending_ >= server_->options_.max_pending_per_connection) {
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
      auto serve = [self = shared_from_this(), req, method, reply_header]() mutable {
        RpcReply reply = self->server_->Run(method, *req);
        reply_header.status = static_cast<uint16_t>(reply.status.code());
        if (!reply.status.ok()) {
          reply.meta = reply.status.message();
          reply.bulk.clear();
        }
        self->Reply(MakeOutFrame(reply_header, std::move(reply.meta), std::move(reply.bulk)));
      };
      const bool run_inline = method && method->run_inline && method->run_inline(*req);
      if (frame.header.is_ordered()) {
        RunOrdered(std::move(serve), run_inline);
      } else if (run_inline) {
        serve();
      } else {
        asio::post(server_->workers_, [serve = std::move(serve)]() mutable { serve(); });
      }
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
    const Method& m = *method;
    const std::string& peer = req.peer;
    auto start = std::chrono::steady_clock::now();
    RpcReply reply = m.handler(req);
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    m.calls->Add();
    m.latency->Observe(static_cast<uint64_t>(micros.count()));
    if (!reply.status.ok()) m.errors->Add();
    if (micros.count() > 1'000'000) {
      spdlog::warn("rpc: slow {} from {}: {} ms ({})", m.name, peer, micros.count() / 1000, reply.status.ToString());
    }
    return reply;
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
    });
    {
      std::lock_guard lock(mu_);
      for (auto& [ptr, conn] : conns_) conn->Close();
    }
    workers_.join();
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
      auto conn = std::make_shared<Connection>(this, std::move(socket));
      {
        std::lock_guard lock(mu_);
        conns_[conn.get()] = conn;
        connections_->Add(1);
      }
      conn->Start();
    }
  }

  RpcServerOptions options_;
  MetricsRegistry* metrics_;
  Counter* protocol_errors_;
  Gauge* connections_;
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  asio::thread_pool workers_;
  std::vector<std::thread> io_threads_;
  std::map<uint32_t, Method> methods_;  // written before Start only
  std::mutex mu_;
  std::map<Connection*, std::shared_ptr<Connection>> conns_;  // GUARDED_BY(mu_)
  std::atomic<bool> stopped_{false};
  int port_ = 0;
};

RpcServer::RpcServer(RpcServerOptions options, MetricsRegistry* metrics)
    : impl_(std::make_unique<Impl>(std::move(options), metrics)) {}
RpcServer::~RpcServer() { Stop(); }
void RpcServer::Register(uint32_t method, std::string name, Handler handler, InlinePredicate run_inline) {
  impl_->Register(method, std::move(name), std::move(handler), std::move(run_inline));
}
Result<int> RpcServer::Start() { return impl_->Start(); }
void RpcServer::Stop() { impl_->Stop(); }
int RpcServer::port() const { return impl_->port(); }

}  // namespace strata::rpc
