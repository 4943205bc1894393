#include "cache/server/connection.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <spdlog/spdlog.h>

namespace strata::cache {
namespace {

// Reads per readiness report while the socket keeps filling the buffer;
// then the other connections of the loop get their turn.
constexpr int kReadsPerEventMax = 4;

std::string PeerAddress(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "?";
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (addr.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    port = ntohs(a->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
    port = ntohs(a->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

}  // namespace

Connection::Connection(int fd, ConnectionSet* set, CacheCore* core, std::unique_ptr<ProtocolHandler> handler,
                       uint64_t id, const std::string& protocol)
    : fd_(fd),
      set_(set),
      loop_(set->loop()),
      core_(core),
      handler_(std::move(handler)),
      id_(id),
      max_input_(2 * core->options().max_value_bytes + (16u << 20)) {
  ClientInfo info;
  info.id = id;
  info.addr = PeerAddress(fd);
  info.protocol = protocol;
  info.connected_ms = static_cast<uint64_t>(core->NowMs());
  core_->clients()->Add(info);
  core_->metrics().connections->Add(1);
  core_->metrics().connections_total->Add();
}

Connection::~Connection() {
  if (!closed_) {
    loop_->Remove(fd_);
    ::close(fd_);
  }
  if (block_token_) core_->blocking()->Remove(block_token_);
  core_->clients()->Remove(id_);
  core_->metrics().connections->Add(-1);
}

bool Connection::Start() {
  int one = 1;
  (void)::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ConnectionSet* set = set_;
  EventLoop* loop = loop_;
  uint64_t id = id_;
  // Called on a publishing thread: hand the delivery to our loop.
  handler_->SetPushWake([set, loop, id] {
    loop->Post([set, id] {
      if (Connection* c = set->Find(id)) c->DeliverPushes();
    });
  });
  interest_ = EPOLLIN;
  if (!loop_->Add(fd_, interest_, this).ok()) {
    ::close(fd_);
    closed_ = true;
    return false;
  }
  return true;
}

void Connection::OnEvents(uint32_t events) {
  if (closed_) return;
  // Both directions gone, or a socket error: no reply can reach the client.
  if (events & (EPOLLHUP | EPOLLERR)) return Close();
  if (events & EPOLLOUT) Flush();
  if (!closed_ && (events & EPOLLIN)) OnReadable();
}

void Connection::OnReadable() {
  for (int i = 0; i < kReadsPerEventMax && !closed_ && !closing_; i++) {
    if (out_.size() - out_sent_ > kMaxPendingOutput) return;  // paused until the client reads
    if (end_ - start_ > max_input_) {
      // One request larger than any legal one: refuse it rather than buffer on.
      out_.append("-ERR Protocol error: request too large\r\n");
      closing_ = true;
      Flush();
      return;
    }
    if (start_ > 0 && (start_ == end_ || in_.size() - end_ < kReadChunk)) {
      std::memmove(in_.data(), in_.data() + start_, end_ - start_);
      end_ -= start_;
      start_ = 0;
    }
    if (in_.size() - end_ < kReadChunk) in_.resize(end_ + kReadChunk);
    size_t room = in_.size() - end_;
    ssize_t n = ::recv(fd_, in_.data() + end_, room, 0);
    if (n > 0) {
      end_ += static_cast<size_t>(n);
      core_->metrics().bytes_in->Add(static_cast<uint64_t>(n));
      ProcessInput();
      if (static_cast<size_t>(n) < room) return;  // drained for now
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    return Close();  // end of stream or a socket error
  }
}

void Connection::ProcessInput() {
  if (blocked_ || closing_ || closed_ || start_ == end_) return;
  uint64_t t0 = core_->clock()->NowMicros();
  ProcessOutcome o = handler_->Process(std::string_view(in_.data() + start_, end_ - start_), &out_);
  core_->metrics().command_latency->Observe(core_->clock()->NowMicros() - t0);
  start_ += o.consumed;
  if (o.close) closing_ = true;
  if (o.blocked) Block(o);
  Flush();
}

// The common case: the socket takes the whole batch, so one send finishes
// it here. Only a short write leaves the rest for EPOLLOUT.
void Connection::Flush() {
  if (closed_) return;
  if (out_sent_ < out_.size()) {
    ssize_t n = ::send(fd_, out_.data() + out_sent_, out_.size() - out_sent_, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return Close();
    if (n > 0) {
      out_sent_ += static_cast<size_t>(n);
      core_->metrics().bytes_out->Add(static_cast<uint64_t>(n));
    }
  }
  if (out_sent_ == out_.size()) {
    out_.clear();
    out_sent_ = 0;
    if (out_.capacity() > kMaxIdleBuffer) std::string().swap(out_);
    if (closing_) return Close();
  } else if (out_sent_ > kMaxIdleBuffer && out_sent_ > out_.size() / 2) {
    out_.erase(0, out_sent_);  // keep the unsent tail from growing without end
    out_sent_ = 0;
  }
  handler_->ReportUnsent(out_.size() - out_sent_);
  UpdateInterest();
}

void Connection::DeliverPushes() {
  if (closed_) return;
  if (!handler_->TakePushes(&out_)) {
    spdlog::warn("client {} closed for exceeding the pubsub output-buffer limit", id_);
    core_->metrics().pubsub_disconnects->Add();
    return Close();
  }
  Flush();
}

void Connection::UpdateInterest() {
  size_t pending = out_.size() - out_sent_;
  uint32_t want = 0;
  if (!closing_ && pending <= kMaxPendingOutput) want |= EPOLLIN;
  if (pending > 0) want |= EPOLLOUT;
  if (want == interest_) return;
  if (!loop_->Modify(fd_, want, this).ok()) return Close();
  interest_ = want;
}

void Connection::Block(const ProcessOutcome& o) {
  blocked_ = true;
  ConnectionSet* set = set_;
  EventLoop* loop = loop_;
  uint64_t id = id_;
  // Runs on whichever thread pushed to a key: hand the wake-up to our loop.
  block_token_ = core_->blocking()->Add(o.block_keys, [set, loop, id] {
    loop->Post([set, id] {
      if (Connection* c = set->Find(id)) c->Unblock();
    });
  });
  if (o.block_deadline_ms > 0) {
    int64_t wait_ms = std::max<int64_t>(0, o.block_deadline_ms - core_->NowMs());
    block_timer_ = loop_->RunAfter(static_cast<uint64_t>(wait_ms) * 1000, [set, id] {
      if (Connection* c = set->Find(id)) {
        c->block_timer_ = 0;
        c->Unblock();
      }
    });
  }
}

void Connection::Unblock() {
  if (!blocked_ || closed_) return;
  blocked_ = false;
  core_->blocking()->Remove(block_token_);
  block_token_ = 0;
  if (block_timer_) loop_->Cancel(block_timer_);
  block_timer_ = 0;
  ProcessInput();  // re-runs the blocked command, then anything after it
}

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  if (block_token_) {
    core_->blocking()->Remove(block_token_);
    block_token_ = 0;
  }
  if (block_timer_) loop_->Cancel(block_timer_);
  block_timer_ = 0;
  loop_->Remove(fd_);
  ::shutdown(fd_, SHUT_RDWR);
  ::close(fd_);
  set_->Release(id_);
}

void ConnectionSet::Start(std::unique_ptr<Connection> conn) {
  uint64_t id = conn->id();
  Connection* c = conn.get();
  conns_[id] = std::move(conn);
  if (!c->Start()) conns_.erase(id);
}

Connection* ConnectionSet::Find(uint64_t id) const {
  auto it = conns_.find(id);
  return it == conns_.end() ? nullptr : it->second.get();
}

void ConnectionSet::Release(uint64_t id) {
  loop_->Defer([this, id] { conns_.erase(id); });
}

}  // namespace strata::cache
