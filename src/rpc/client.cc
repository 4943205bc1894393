#include "rpc/client.h"

#include <asio.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "common/logging.h"
#include "rpc/frame_io.h"
#include "rpc/handshake_io.h"

namespace strata::rpc {

Result<std::pair<std::string, uint16_t>> SplitHostPort(const std::string& endpoint) {
  auto colon = endpoint.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == endpoint.size()) {
    return Status::InvalidArgument("endpoint '" + endpoint + "' is not host:port");
  }
  std::string host = endpoint.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned long port = 0;
  for (size_t i = colon + 1; i < endpoint.size(); ++i) {
    char c = endpoint[i];
    if (c < '0' || c > '9') return Status::InvalidArgument("endpoint '" + endpoint + "' has a bad port");
    port = port * 10 + static_cast<unsigned long>(c - '0');
    if (port > 65535) return Status::InvalidArgument("endpoint '" + endpoint + "' has a bad port");
  }
  if (port == 0) return Status::InvalidArgument("endpoint '" + endpoint + "' has port 0");
  return std::make_pair(host, static_cast<uint16_t>(port));
}

namespace {

// Where a call's outcome goes, on the connection's I/O thread: the caller's
// callback, or the caller's future and then (optionally) a notification.
// A callback costs no synchronisation of its own (a promise's first
// set_value wakes the futex of its once-flag even when nobody waits).
struct Promise {
  ReplyCallback callback;
  std::promise<Result<RpcReply>> promise;
  std::function<void()> on_done;
  void set_value(Result<RpcReply> result) {
    if (callback) {
      ReplyCallback cb = std::move(callback);
      cb(std::move(result));
      return;
    }
    promise.set_value(std::move(result));
    if (on_done) on_done();
  }
  std::future<Result<RpcReply>> get_future() { return promise.get_future(); }
};

// One TCP connection to one endpoint, multiplexing calls by request id.
//
// A call is sent from the caller's thread when the connection is idle (no
// queued frames), so a request costs no thread hop; otherwise it is queued
// for the write loop on the connection's strand. Replies are read on the
// strand. One timer per connection, armed at the earliest deadline, fails
// the calls whose deadline passed.
class ClientConnection : public std::enable_shared_from_this<ClientConnection> {
 public:
  using Clock = std::chrono::steady_clock;

  ClientConnection(asio::io_context& io, std::string endpoint, const RpcClientOptions& options)
      : socket_(asio::make_strand(io)), timer_(socket_.get_executor()), endpoint_(std::move(endpoint)),
        options_(options), reader_(options.limits) {
    reader_.KeepBuffer();
  }

  bool broken() const { return broken_.load(); }

  // Any thread.
  void Call(uint32_t method, std::shared_ptr<const FrameBody> body, uint32_t timeout_ms,
            std::shared_ptr<Promise> promise) {
    uint64_t id = 0;
    bool connect = false;
    {
      std::lock_guard lock(mu_);
      if (!broken_) {
        id = next_id_++;
        const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
        pending_[id] = Pending{std::move(promise), deadline, timeout_ms};
        if (deadline < armed_until_) {
          armed_until_ = deadline;
          asio::post(socket_.get_executor(), [self = shared_from_this()] { self->ArmTimer(); });
        }
        connect = !started_;
        started_ = true;
      }
    }
    if (id == 0) {
      promise->set_value(Status::Unavailable("connection to " + endpoint_ + " is broken"));
      return;
    }
    FrameHeader h;
    h.method = method;
    h.timeout_ms = timeout_ms;
    h.request_id = id;
    switch (sendq_.Send(MakeOutFrame(h, std::move(body)))) {
      case FrameSendQueue::Sent::kStartWriter:
        StartWriter();
        break;
      case FrameSendQueue::Sent::kFailed:
        asio::post(socket_.get_executor(), [self = shared_from_this(), e = errno] {
          self->Fail(Status::Unavailable("send to " + self->endpoint_ + " failed: " + std::strerror(e)));
        });
        break;
      default:  // written, waiting for the write loop or the connection, or closed (Fail answers it)
        break;
    }
    if (connect) asio::co_spawn(socket_.get_executor(), ConnectAndRead(shared_from_this()), asio::detached);
  }

  void Close() {
    asio::post(socket_.get_executor(), [self = shared_from_this()] { self->Fail(Status::Unavailable("closed")); });
  }

 private:
  struct Pending {
    std::shared_ptr<Promise> promise;
    Clock::time_point deadline;
    uint32_t timeout_ms = 0;
  };

  void StartWriter() { asio::co_spawn(socket_.get_executor(), WriteLoop(shared_from_this()), asio::detached); }

  // On the strand: (re)arms the timer at the earliest deadline.
  void ArmTimer() {
    Clock::time_point at;
    {
      std::lock_guard lock(mu_);
      if (armed_until_ == Clock::time_point::max()) return;
      at = armed_until_;
    }
    timer_.expires_at(at);
    timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
      if (!ec) self->ExpireCalls();
    });
  }

  // On the strand: fails the calls whose deadline passed.
  void ExpireCalls() {
    std::vector<std::pair<std::shared_ptr<Promise>, uint32_t>> expired;
    {
      std::lock_guard lock(mu_);
      const auto now = Clock::now();
      auto next = Clock::time_point::max();
      for (auto it = pending_.begin(); it != pending_.end();) {
        if (it->second.deadline <= now) {
          expired.emplace_back(std::move(it->second.promise), it->second.timeout_ms);
          it = pending_.erase(it);
        } else {
          next = std::min(next, it->second.deadline);
          ++it;
        }
      }
      armed_until_ = next;
    }
    for (auto& [promise, timeout_ms] : expired) {
      promise->set_value(Status::DeadlineExceeded("rpc to " + endpoint_ + " timed out after " +
                                                  std::to_string(timeout_ms) + " ms"));
    }
    ArmTimer();
  }

  static asio::awaitable<void> ConnectAndRead(std::shared_ptr<ClientConnection> self) {
    auto hp = SplitHostPort(self->endpoint_);
    if (!hp.ok()) {
      self->Fail(hp.status());
      co_return;
    }
    asio::error_code ec;
    auto address = asio::ip::make_address(hp->first, ec);
    if (ec) {
      asio::ip::tcp::resolver resolver(self->socket_.get_executor());
      auto results = co_await resolver.async_resolve(hp->first, std::to_string(hp->second),
                                                     asio::redirect_error(asio::use_awaitable, ec));
      if (ec || results.empty()) {
        self->Fail(Status::Unavailable("cannot resolve " + hp->first));
        co_return;
      }
      address = results.begin()->endpoint().address();
    }
    asio::steady_timer connect_timer(self->socket_.get_executor());
    connect_timer.expires_after(std::chrono::milliseconds(self->options_.connect_timeout_ms));
    // The handler may run after this coroutine ended (an expired timer
    // cannot be cancelled): it owns what it touches, and closes the socket
    // only while the connection is not up (nothing is sent on it before
    // sendq_ is opened). It runs on the strand, like this coroutine.
    auto timed_out = std::make_shared<bool>(false);
    connect_timer.async_wait([self, timed_out](const asio::error_code& e) {
      if (e || self->connected_ || self->broken_) return;
      *timed_out = true;
      asio::error_code ignored;
      self->socket_.close(ignored);
    });
    co_await self->socket_.async_connect(asio::ip::tcp::endpoint(address, hp->second),
                                         asio::redirect_error(asio::use_awaitable, ec));
    if (ec || *timed_out) {
      connect_timer.cancel();
      self->Fail(Status::Unavailable("cannot connect to " + self->endpoint_ + ": " +
                                     (*timed_out ? std::string("timed out") : ec.message())));
      co_return;
    }
    if (self->options_.auth) {  // within the connect timeout
      auto session = co_await RunClientHandshake(self->socket_, *self->options_.auth, self->endpoint_);
      connect_timer.cancel();
      if (*timed_out) session = Status::Unavailable("cannot connect to " + self->endpoint_ + ": handshake timed out");
      if (!session.ok()) {
        self->Fail(session.status());
        co_return;
      }
      self->reader_.SetMac(std::move(session->receive));
      self->sendq_.SetMac(std::move(session->send));
    }
    connect_timer.cancel();
    self->socket_.set_option(asio::ip::tcp::no_delay(true), ec);
    self->connected_ = true;
    if (self->sendq_.Open(self->socket_.native_handle())) self->StartWriter();
    while (!self->broken_) {
      auto frame = co_await self->reader_.Read(self->socket_);
      if (!frame.ok()) {
        if (frame.status().code() == StatusCode::kProtocolError) {
          spdlog::warn("rpc: bad reply from {}: {}", self->endpoint_, frame.status().message());
        }
        self->Fail(Status::Unavailable("connection to " + self->endpoint_ + " lost: " + frame.status().message()));
        co_return;
      }
      self->Complete(std::move(*frame));
    }
  }

  static asio::awaitable<void> WriteLoop(std::shared_ptr<ClientConnection> self) {
    Status st = co_await DrainSendQueue(self->socket_, self->sendq_);
    if (!st.ok()) self->Fail(Status::Unavailable("send to " + self->endpoint_ + " failed: " + st.message()));
  }

  void Complete(Frame frame) {
    std::shared_ptr<Promise> promise;
    {
      std::lock_guard lock(mu_);
      auto it = pending_.find(frame.header.request_id);
      if (it == pending_.end()) return;  // timed out already
      promise = std::move(it->second.promise);
      pending_.erase(it);
    }
    RpcReply reply;
    auto code = static_cast<StatusCode>(frame.header.status);
    if (code != StatusCode::kOk) {
      reply.status = Status(code, std::move(frame.meta));
    } else {
      reply.meta = std::move(frame.meta);
      reply.bulk = std::move(frame.bulk);
    }
    promise->set_value(std::move(reply));
  }

  // On the strand.
  void Fail(const Status& why) {
    std::map<uint64_t, Pending> failed;
    {
      std::lock_guard lock(mu_);
      broken_ = true;
      failed.swap(pending_);
      armed_until_ = Clock::time_point::max();
    }
    // Under the queue's lock, so that no caller sends on the descriptor
    // being closed.
    sendq_.Close([this] {
      asio::error_code ec;
      socket_.close(ec);
    });
    timer_.cancel();
    for (auto& [id, p] : failed) p.promise->set_value(why);
  }

  asio::ip::tcp::socket socket_;
  asio::steady_timer timer_;  // on the strand
  std::string endpoint_;
  RpcClientOptions options_;
  FrameReader reader_;  // used by ConnectAndRead only
  FrameSendQueue sendq_;
  bool connected_ = false;  // on the strand
  std::atomic<bool> broken_{false};

  std::mutex mu_;
  std::map<uint64_t, Pending> pending_;                         // GUARDED_BY(mu_)
  Clock::time_point armed_until_ = Clock::time_point::max();    // GUARDED_BY(mu_)
  uint64_t next_id_ = 1;                                        // GUARDED_BY(mu_)
  bool started_ = false;                                        // GUARDED_BY(mu_)
};

}  // namespace

class RpcClient::Impl {
 public:
  explicit Impl(RpcClientOptions options)
      : options_(std::move(options)),
        io_(options_.io_context ? *options_.io_context : own_io_),
        work_(asio::make_work_guard(own_io_)) {
    if (options_.io_context) return;  // its owner runs it
    for (int i = 0; i < std::max(1, options_.io_threads); ++i) threads_.emplace_back([this] { io_.run(); });
  }

  ~Impl() {
    {
      std::lock_guard lock(mu_);
      for (auto& [ep, conns] : pool_) {
        for (auto& c : conns) {
          if (c) c->Close();
        }
      }
      pool_.clear();
    }
    work_.reset();
    if (options_.io_context) return;  // the closes posted above run there, or die with it
    io_.stop();
    for (auto& t : threads_) t.join();
  }

  // Sends one call whose outcome goes to `promise`.
  void Send(const std::string& endpoint, uint32_t method, std::shared_ptr<const FrameBody> body, uint32_t timeout_ms,
            std::shared_ptr<Promise> promise) {
    if (timeout_ms == 0) timeout_ms = options_.default_timeout_ms;
    if (body->meta.size() > options_.limits.max_meta_bytes || body->bulk.size() > options_.limits.max_bulk_bytes) {
      promise->set_value(Status::InvalidArgument("rpc request too large for one frame"));
      return;
    }
    Pick(endpoint)->Call(method, std::move(body), timeout_ms, std::move(promise));
  }

  std::shared_ptr<ClientConnection> Pick(const std::string& endpoint) {
    std::lock_guard lock(mu_);
    auto& conns = pool_[endpoint];
    size_t want = static_cast<size_t>(std::max(1, options_.connections_per_endpoint));
    if (conns.size() < want) conns.resize(want);
    size_t idx = next_++ % want;
    if (!conns[idx] || conns[idx]->broken()) {
      conns[idx] = std::make_shared<ClientConnection>(io_, endpoint, options_);
    }
    return conns[idx];
  }

  void Forget(const std::string& endpoint) {
    std::lock_guard lock(mu_);
    auto it = pool_.find(endpoint);
    if (it == pool_.end()) return;
    for (auto& c : it->second) {
      if (c) c->Close();
    }
    pool_.erase(it);
  }

  RpcClientOptions options_;

 private:
  asio::io_context own_io_;  // unused with options_.io_context
  asio::io_context& io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::map<std::string, std::vector<std::shared_ptr<ClientConnection>>> pool_;  // GUARDED_BY(mu_)
  size_t next_ = 0;                                                            // GUARDED_BY(mu_)
};

RpcClient::RpcClient(RpcClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
RpcClient::~RpcClient() = default;

std::future<Result<RpcReply>> RpcClient::CallAsync(const std::string& endpoint, uint32_t method, std::string meta,
                                                   std::string bulk, uint32_t timeout_ms,
                                                   std::function<void()> on_done) {
  if (meta.size() > impl_->options_.limits.max_meta_bytes || bulk.size() > impl_->options_.limits.max_bulk_bytes) {
    // Refused before the CRC is computed over a body that will not be sent.
    std::promise<Result<RpcReply>> refused;
    refused.set_value(Status::InvalidArgument("rpc request too large for one frame"));
    if (on_done) on_done();
    return refused.get_future();
  }
  return CallAsync(endpoint, method, MakeFrameBody(std::move(meta), std::move(bulk)), timeout_ms,
                   std::move(on_done));
}

std::future<Result<RpcReply>> RpcClient::CallAsync(const std::string& endpoint, uint32_t method,
                                                   std::shared_ptr<const FrameBody> body, uint32_t timeout_ms,
                                                   std::function<void()> on_done) {
  auto promise = std::make_shared<Promise>();
  promise->on_done = std::move(on_done);
  auto future = promise->get_future();
  impl_->Send(endpoint, method, std::move(body), timeout_ms, std::move(promise));
  return future;
}

void RpcClient::CallWithCallback(const std::string& endpoint, uint32_t method, std::string meta, std::string bulk,
                                 uint32_t timeout_ms, ReplyCallback done) {
  if (meta.size() > impl_->options_.limits.max_meta_bytes || bulk.size() > impl_->options_.limits.max_bulk_bytes) {
    done(Status::InvalidArgument("rpc request too large for one frame"));
    return;
  }
  CallWithCallback(endpoint, method, MakeFrameBody(std::move(meta), std::move(bulk)), timeout_ms, std::move(done));
}

void RpcClient::CallWithCallback(const std::string& endpoint, uint32_t method, std::shared_ptr<const FrameBody> body,
                                 uint32_t timeout_ms, ReplyCallback done) {
  auto promise = std::make_shared<Promise>();
  promise->callback = std::move(done);
  impl_->Send(endpoint, method, std::move(body), timeout_ms, std::move(promise));
}

Result<RpcReply> RpcClient::Call(const std::string& endpoint, uint32_t method, std::string meta, std::string bulk,
                                 uint32_t timeout_ms) {
  return CallAsync(endpoint, method, std::move(meta), std::move(bulk), timeout_ms).get();
}

Status RpcClient::CallTyped(const std::string& endpoint, uint32_t method, const google::protobuf::Message& req,
                            google::protobuf::Message* resp, std::string bulk_in, std::string* bulk_out,
                            uint32_t timeout_ms) {
  std::string meta;
  if (!req.SerializeToString(&meta)) return Status::InvalidArgument("cannot serialize request");
  auto reply = Call(endpoint, method, std::move(meta), std::move(bulk_in), timeout_ms);
  if (!reply.ok()) return reply.status();
  if (!reply->status.ok()) return reply->status;
  if (resp && !resp->ParseFromString(reply->meta)) return Status::ProtocolError("cannot parse reply from " + endpoint);
  if (bulk_out) *bulk_out = std::move(reply->bulk);
  return Status::Ok();
}

void RpcClient::Forget(const std::string& endpoint) { impl_->Forget(endpoint); }

}  // namespace strata::rpc
