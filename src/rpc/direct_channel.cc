#include "rpc/direct_channel.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "rpc/client.h"
#include "rpc/handshake_io.h"

namespace strata::rpc {
namespace {

// Replies are read in pieces of at least this much.
constexpr size_t kReadPiece = 64 * 1024;

std::string ErrnoText(int e) { return std::strerror(e); }

}  // namespace

DirectChannel::DirectChannel(std::string endpoint, FrameLimits limits, std::shared_ptr<const RpcAuth> auth)
    : endpoint_(std::move(endpoint)), limits_(limits), auth_(std::move(auth)) {}

DirectChannel::~DirectChannel() {
  if (fd_ >= 0) ::close(fd_);
}

Status DirectChannel::Fail(Status why) {
  if (broken_.ok()) broken_ = std::move(why);
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  outq_.clear();
  return broken_;
}

Status DirectChannel::Connect(uint32_t timeout_ms) {
  if (!broken_.ok()) return broken_;
  if (fd_ >= 0) return Status::Ok();
  ASSIGN_OR_RETURN(auto host_port, SplitHostPort(endpoint_));
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(host_port.second);
  if (int rc = ::getaddrinfo(host_port.first.c_str(), port.c_str(), &hints, &found); rc != 0 || !found) {
    return Fail(Status::Unavailable("cannot resolve " + host_port.first + ": " + ::gai_strerror(rc)));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(found, &::freeaddrinfo);
  fd_ = ::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return Fail(Status::Unavailable("socket: " + ErrnoText(errno)));
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (::connect(fd_, found->ai_addr, found->ai_addrlen) != 0) {
    if (errno != EINPROGRESS) {
      return Fail(Status::Unavailable("cannot connect to " + endpoint_ + ": " + ErrnoText(errno)));
    }
    pollfd p{fd_, POLLOUT, 0};
    int ready;
    do {
      ready = ::poll(&p, 1, static_cast<int>(timeout_ms));
    } while (ready < 0 && errno == EINTR);
    if (ready == 0) return Fail(Status::Unavailable("cannot connect to " + endpoint_ + ": timed out"));
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (ready < 0 || err != 0) {
      return Fail(Status::Unavailable("cannot connect to " + endpoint_ + ": " + ErrnoText(ready < 0 ? errno : err)));
    }
  }
  if (auth_) {
    auto session = RunClientHandshakeBlocking(fd_, *auth_, endpoint_, timeout_ms);
    if (!session.ok()) return Fail(session.status());
    session_ = std::move(*session);
  }
  return Status::Ok();
}

Result<uint64_t> DirectChannel::Send(uint32_t method, std::shared_ptr<const FrameBody> body, uint32_t timeout_ms,
                                     bool ordered) {
  if (!broken_.ok()) return broken_;
  if (fd_ < 0) return Status::FailedPrecondition("channel to " + endpoint_ + " is not connected");
  if (body->meta.size() > limits_.max_meta_bytes || body->bulk.size() > limits_.max_bulk_bytes) {
    return Status::InvalidArgument("rpc request too large for one frame");
  }
  FrameHeader h;
  h.flags = ordered ? kFlagOrdered : 0;
  h.method = method;
  h.timeout_ms = timeout_ms;
  h.request_id = next_id_++;
  outq_.push_back(MakeOutFrame(h, std::move(body)));
  if (session_.send) session_.send->Seal(outq_.back());
  while (!outq_.empty()) {
    if (!SendFrameNow(fd_, outq_.front())) {
      return Fail(Status::Unavailable("send to " + endpoint_ + " failed: " + ErrnoText(errno)));
    }
    if (outq_.front().sent < outq_.front().size()) break;  // socket full: Pump() goes on
    outq_.pop_front();
  }
  return h.request_id;
}

Status DirectChannel::Pump(std::vector<Arrived>* out) {
  if (!broken_.ok()) return broken_;
  while (!outq_.empty()) {
    if (!SendFrameNow(fd_, outq_.front())) {
      return Fail(Status::Unavailable("send to " + endpoint_ + " failed: " + ErrnoText(errno)));
    }
    if (outq_.front().sent < outq_.front().size()) break;
    outq_.pop_front();
  }
  return ReadReplies(out);
}

Status DirectChannel::ReadReplies(std::vector<Arrived>* out) {
  if (std::exchange(poll_found_nothing_, false)) return Status::Ok();
  for (;;) {
    if (in_.size() - in_used_ < kReadPiece) in_.resize(in_used_ + kReadPiece);
    const size_t room = in_.size() - in_used_;
    ssize_t n = ::recv(fd_, in_.data() + in_used_, room, MSG_DONTWAIT);
    if (n == 0) return Fail(Status::Unavailable("connection to " + endpoint_ + " lost: connection closed"));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        return Fail(Status::Unavailable("connection to " + endpoint_ + " lost: " + ErrnoText(errno)));
      }
      break;
    }
    in_used_ += static_cast<size_t>(n);
    // Parse every complete frame received so far.
    size_t at = 0;
    const size_t head_size = kFrameHeaderSize + (session_.receive ? kFrameTagBytes : 0);
    while (in_used_ - at >= head_size) {
      auto header = DecodeFrameHeader(in_.data() + at, limits_);
      if (!header.ok()) return Fail(Status::Unavailable("bad reply from " + endpoint_ + ": " + header.status().message()));
      if (!header->is_reply()) return Fail(Status::Unavailable("bad reply from " + endpoint_ + ": not a reply frame"));
      const size_t total = head_size + header->meta_len + header->bulk_len;
      if (in_used_ - at < total) {
        // Make room for the rest of a large frame in one piece.
        if (in_.size() < at + total) in_.resize(at + total);
        break;
      }
      std::string_view meta(in_.data() + at + head_size, header->meta_len);
      std::string_view bulk(meta.data() + meta.size(), header->bulk_len);
      if (session_.receive &&
          !session_.receive->Verify(in_.data() + at, meta, in_.data() + at + kFrameHeaderSize)) {
        return Fail(Status::Unavailable("bad reply from " + endpoint_ + ": frame tag mismatch"));
      }
      if (BodyCrc(meta, bulk) != header->body_crc) {
        return Fail(Status::Unavailable("bad reply from " + endpoint_ + ": frame body checksum mismatch"));
      }
      Arrived arrived;
      arrived.request_id = header->request_id;
      auto code = static_cast<StatusCode>(header->status);
      if (code != StatusCode::kOk) {
        arrived.reply.status = Status(code, std::string(meta));
      } else {
        arrived.reply.meta = std::string(meta);
        arrived.reply.bulk = std::string(bulk);
      }
      out->push_back(std::move(arrived));
      at += total;
    }
    if (at > 0) {
      std::memmove(in_.data(), in_.data() + at, in_used_ - at);
      in_used_ -= at;
    }
    // A read that did not fill the room took all there was: another recv
    // now would find nothing (and what comes later wakes WaitAny).
    if (static_cast<size_t>(n) < room) break;
  }
  return Status::Ok();
}

void DirectChannel::WaitAny(std::span<DirectChannel* const> channels, uint64_t timeout_us) {
  std::vector<pollfd> fds;
  fds.reserve(channels.size());
  for (DirectChannel* c : channels) {
    if (!c || c->fd_ < 0) continue;
    short events = POLLIN;
    if (!c->outq_.empty()) events |= POLLOUT;
    fds.push_back(pollfd{c->fd_, events, 0});
  }
  if (fds.empty()) return;
  timespec ts{static_cast<time_t>(timeout_us / 1000000), static_cast<long>(timeout_us % 1000000) * 1000};
  if (::ppoll(fds.data(), fds.size(), &ts, nullptr) < 0) return;  // interrupted: every channel is read
  size_t i = 0;
  for (DirectChannel* c : channels) {
    if (!c || c->fd_ < 0) continue;
    c->poll_found_nothing_ = (fds[i++].revents & (POLLIN | POLLERR | POLLHUP)) == 0;
  }
}

}  // namespace strata::rpc
