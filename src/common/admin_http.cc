#include "common/admin_http.h"

#include <algorithm>
#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "common/logging.h"

namespace strata {
namespace {

using Clock = std::chrono::steady_clock;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}

bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsToken(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), IsTokenChar); }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Status Bad(const std::string& why) { return Status::InvalidArgument("bad HTTP request: " + why); }

const char* Reason(int code) {
  switch (code) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    default: return "Error";
  }
}

}  // namespace

bool CouldStartRequestLine(std::string_view bytes) {
  // A method token: 1 to 16 upper-case letters, then a space.
  constexpr size_t kMethodMax = 16;
  for (size_t i = 0; i < bytes.size(); ++i) {
    char c = bytes[i];
    if (c == ' ') return i > 0;
    if (c < 'A' || c > 'Z' || i >= kMethodMax) return false;
  }
  return true;
}

Result<AdminHttpRequest> ParseAdminHttpRequest(std::string_view head) {
  if (head.size() < 4 || head.substr(head.size() - 4) != "\r\n\r\n") return Bad("head does not end with CRLF CRLF");
  head.remove_suffix(2);  // each line, the last included, now ends with CRLF
  const size_t line_end = head.find("\r\n");
  std::string_view line = head.substr(0, line_end);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return Bad("request line is not 'METHOD TARGET VERSION'");
  }
  AdminHttpRequest req;
  req.method = std::string(line.substr(0, sp1));
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(req.method)) return Bad("bad method");
  if (target.empty() || target.front() != '/') return Bad("target is not an absolute path");
  for (char c : target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return Bad("control character in the target");
  }
  if (version == "HTTP/1.1") {
    req.keep_alive = true;
  } else if (version == "HTTP/1.0") {
    req.keep_alive = false;
  } else {
    return Bad("unsupported version");
  }
  req.path = std::string(target.substr(0, target.find('?')));
  std::string_view rest = head.substr(line_end + 2);
  while (!rest.empty()) {
    const size_t end = rest.find("\r\n");
    std::string_view field = rest.substr(0, end);
    rest.remove_prefix(end + 2);
    const size_t colon = field.find(':');
    if (colon == std::string_view::npos || !IsToken(field.substr(0, colon))) return Bad("malformed header line");
    const std::string name = Lower(field.substr(0, colon));
    const std::string_view value = Trim(field.substr(colon + 1));
    for (char c : value) {
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) return Bad("control character in a header");
    }
    if (name == "content-length") {
      if (value.empty() || !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return Bad("bad Content-Length");
      }
      if (value.find_first_not_of('0') != std::string_view::npos) return Bad("admin requests carry no body");
    } else if (name == "transfer-encoding") {
      return Bad("admin requests carry no body");
    } else if (name == "connection") {
      const std::string v = Lower(value);
      if (v.find("close") != std::string::npos) req.keep_alive = false;
      if (v.find("keep-alive") != std::string::npos) req.keep_alive = true;
    }
  }
  return req;
}

class AdminHttpServer::Impl {
 public:
  Impl(MetricsRegistry* registry, StatusFn status, AdminHttpOptions options)
      : registry_(registry), status_(std::move(status)), options_(options), acceptor_(io_), sweep_timer_(io_) {}

  // One client connection: a coroutine on its own strand.
  class Conn : public std::enable_shared_from_this<Conn> {
   public:
    enum State { kIdle, kReading, kServing };
    Conn(Impl* server, asio::ip::tcp::socket socket) : server_(server), socket_(std::move(socket)) {}

    void Start() { asio::co_spawn(socket_.get_executor(), Serve(shared_from_this()), asio::detached); }
    // Any thread.
    void Close() {
      closing_ = true;
      asio::post(socket_.get_executor(), [self = shared_from_this()] {
        asio::error_code ec;
        self->socket_.close(ec);
      });
    }
    State state() const { return state_.load(); }
    int64_t since_ms() const { return since_ms_.load(); }
    bool closing() const { return closing_.load(); }

   private:
    void Enter(State s) {
      since_ms_ = NowMs();
      state_ = s;
    }

    static asio::awaitable<void> Serve(std::shared_ptr<Conn> self) {
      std::string buf;  // the request being read (and any pipelined bytes after it)
      for (;;) {
        self->Enter(kIdle);
        asio::error_code ec;
        if (buf.empty()) {
          buf.shrink_to_fit();  // an idle connection holds no buffer
          co_await self->socket_.async_wait(asio::socket_base::wait_read,
                                            asio::redirect_error(asio::use_awaitable, ec));
          if (ec) break;
        }
        self->Enter(kReading);
        const size_t limit = self->server_->options_.max_request_bytes;
        size_t head_end = buf.find("\r\n\r\n");
        bool garbage = false;
        while (head_end == std::string::npos && buf.size() <= limit) {
          // Bytes that cannot begin a request line (a binary protocol sent
          // to the wrong port) are answered at once, not after the timeout.
          if (!CouldStartRequestLine(buf)) {
            garbage = true;
            break;
          }
          const size_t have = buf.size();
          buf.resize(std::min(have + 4096, limit + 4));
          size_t n = co_await self->socket_.async_read_some(asio::buffer(buf.data() + have, buf.size() - have),
                                                            asio::redirect_error(asio::use_awaitable, ec));
          buf.resize(have + n);
          if (ec) break;
          head_end = buf.find("\r\n\r\n", have >= 3 ? have - 3 : 0);
        }
        if (ec) break;
        if (garbage || (head_end == std::string::npos && !CouldStartRequestLine(buf))) {
          co_await self->Respond(400, "text/plain", "not an HTTP request\n", false, false);
          break;
        }
        if (head_end == std::string::npos) {
          co_await self->Respond(431, "text/plain", "request head over " + std::to_string(limit) + " bytes\n",
                                 false, false);
          break;
        }
        auto req = ParseAdminHttpRequest(std::string_view(buf).substr(0, head_end + 4));
        buf.erase(0, head_end + 4);
        if (!req.ok()) {
          co_await self->Respond(400, "text/plain", req.status().message() + "\n", false, false);
          break;
        }
        self->Enter(kServing);
        if (!co_await self->Answer(*req) || !req->keep_alive) break;
      }
      asio::error_code ignored;
      self->socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
      self->socket_.close(ignored);
      self->server_->Forget(self.get());
    }

    // False when the connection must close.
    asio::awaitable<bool> Answer(const AdminHttpRequest& req) {
      const bool head_only = req.method == "HEAD";
      if (req.method != "GET" && !head_only) {
        co_return co_await Respond(405, "text/plain", "only GET and HEAD\n", req.keep_alive, false);
      }
      if (req.path == "/metrics") {
        co_return co_await Respond(200, "text/plain; version=0.0.4", server_->registry_->RenderPrometheus(),
                                   req.keep_alive, head_only);
      }
      if (req.path == "/status") {
        std::string body = server_->status_ ? server_->status_().dump(2) : "{}";
        co_return co_await Respond(200, "application/json", std::move(body), req.keep_alive, head_only);
      }
      co_return co_await Respond(404, "text/plain", "not found\n", req.keep_alive, head_only);
    }

    asio::awaitable<bool> Respond(int code, const char* type, std::string body, bool keep_alive, bool head_only) {
      std::string out = "HTTP/1.1 " + std::to_string(code) + " " + Reason(code) + "\r\nContent-Type: " + type +
                        "\r\nContent-Length: " + std::to_string(body.size()) +
                        (code == 405 ? "\r\nAllow: GET, HEAD" : "") +
                        (keep_alive ? "\r\nConnection: keep-alive\r\n\r\n" : "\r\nConnection: close\r\n\r\n");
      if (!head_only) out += body;
      asio::error_code ec;
      co_await asio::async_write(socket_, asio::buffer(out), asio::redirect_error(asio::use_awaitable, ec));
      co_return !ec;
    }

    Impl* server_;
    asio::ip::tcp::socket socket_;
    std::atomic<State> state_{kIdle};
    std::atomic<int64_t> since_ms_{NowMs()};  // when state_ was entered
    std::atomic<bool> closing_{false};
  };

  Result<int> Start(const std::string& host, int port) {
    if (options_.max_connections == 0 || options_.request_timeout_ms == 0 || options_.max_request_bytes == 0) {
      return Status::InvalidArgument("admin HTTP: max_connections, request_timeout_ms and max_request_bytes must be > 0");
    }
    asio::error_code ec;
    auto address = asio::ip::make_address(host, ec);
    if (ec) return Status::InvalidArgument("bad admin HTTP address '" + host + "'");
    asio::ip::tcp::endpoint ep(address, static_cast<uint16_t>(port));
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status::Unavailable("cannot bind admin HTTP on " + host + ":" + std::to_string(port) + ": " +
                                 ec.message());
    }
    const int bound = acceptor_.local_endpoint().port();
    asio::co_spawn(io_, AcceptLoop(), asio::detached);
    asio::co_spawn(io_, SweepLoop(), asio::detached);
    for (int i = 0; i < std::max(1, options_.threads); ++i) threads_.emplace_back([this] { io_.run(); });
    return bound;
  }

  void Stop() {
    if (threads_.empty() || stopped_.exchange(true)) return;
    asio::post(io_, [this] {
      asio::error_code ec;
      acceptor_.close(ec);
      sweep_timer_.cancel();
    });
    {
      std::lock_guard lock(mu_);
      for (auto& [ptr, conn] : conns_) conn->Close();
    }
    // Each connection's coroutine ends once its socket is closed; then the
    // context runs out of work.
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  void Forget(Conn* conn) {
    std::lock_guard lock(mu_);
    conns_.erase(conn);
  }

 private:
  asio::awaitable<void> AcceptLoop() {
    while (!stopped_) {
      asio::ip::tcp::socket socket(asio::make_strand(io_));
      asio::error_code ec;
      co_await acceptor_.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
        spdlog::warn("admin HTTP: accept failed: {}", ec.message());
        continue;
      }
      auto conn = std::make_shared<Conn>(this, std::move(socket));
      {
        std::lock_guard lock(mu_);
        if (stopped_) break;
        MakeRoomLocked();
        conns_[conn.get()] = conn;
      }
      conn->Start();
    }
  }

  // At the limit, closes the connection that waited longest without being
  // served (idle ones first, then slow senders), so a new client always
  // gets in. REQUIRES: mu_ held.
  void MakeRoomLocked() {
    size_t open = 0;
    for (auto& [ptr, conn] : conns_) open += !conn->closing();
    if (open < options_.max_connections) return;
    Conn* victim = nullptr;
    auto rank = [](const Conn* c) { return std::make_pair(c->state() == Conn::kIdle ? 0 : 1, c->since_ms()); };
    for (auto& [ptr, conn] : conns_) {
      if (conn->closing() || conn->state() == Conn::kServing) continue;
      if (!victim || rank(ptr) < rank(victim)) victim = ptr;
    }
    if (victim) victim->Close();
  }

  asio::awaitable<void> SweepLoop() {
    uint32_t shortest = options_.request_timeout_ms;
    if (options_.idle_timeout_ms > 0) shortest = std::min(shortest, options_.idle_timeout_ms);
    const auto period = std::chrono::milliseconds(std::clamp<uint32_t>(shortest / 4, 5, 1000));
    while (!stopped_) {
      sweep_timer_.expires_after(period);
      asio::error_code ec;
      co_await sweep_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (ec || stopped_) break;
      const int64_t now = NowMs();
      std::lock_guard lock(mu_);
      for (auto& [ptr, conn] : conns_) {
        if (conn->closing()) continue;
        const int64_t age = now - conn->since_ms();
        const bool idle = conn->state() == Conn::kIdle;
        if (idle ? options_.idle_timeout_ms > 0 && age > options_.idle_timeout_ms
                 : age > options_.request_timeout_ms) {
          conn->Close();
        }
      }
    }
  }

  MetricsRegistry* registry_;
  StatusFn status_;
  const AdminHttpOptions options_;
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer sweep_timer_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopped_{false};
  std::mutex mu_;
  std::map<Conn*, std::shared_ptr<Conn>> conns_;  // GUARDED_BY(mu_)
};

AdminHttpServer::AdminHttpServer(MetricsRegistry* registry, StatusFn status, AdminHttpOptions options)
    : impl_(std::make_unique<Impl>(registry, std::move(status), options)) {}

AdminHttpServer::~AdminHttpServer() { Stop(); }

Result<int> AdminHttpServer::Start(const std::string& host, int port) { return impl_->Start(host, port); }

void AdminHttpServer::Stop() { impl_->Stop(); }

}  // namespace strata
