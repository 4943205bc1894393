// LoopbackConn: a blocking TCP connection to 127.0.0.1:port for tests that
// drive a server byte by byte (garbage, half frames, idle connections).
// Protocol-specific readers build on Send() and Readable().
//
// Thread-safety: one thread per connection. Ownership: owns its socket.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <string>

namespace strata::testing {

class LoopbackConn {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LoopbackConn(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~LoopbackConn() { ::close(fd_); }
  LoopbackConn(const LoopbackConn&) = delete;
  LoopbackConn& operator=(const LoopbackConn&) = delete;

  bool connected() const { return connected_; }

  // Sends all of `bytes`; false when the peer closed or failed.
  bool Send(const std::string& bytes) {
    size_t at = 0;
    while (at < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL);
      if (n <= 0) return false;
      at += static_cast<size_t>(n);
    }
    return true;
  }

 protected:
  // True once a read would not block (data or the peer's close) before
  // `deadline`.
  bool Readable(Clock::time_point deadline) {
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(left));
      if (r > 0) return true;
      if (r < 0 && errno != EINTR) return false;
    }
  }

  int fd_ = -1;

 private:
  bool connected_ = false;
};

}  // namespace strata::testing
