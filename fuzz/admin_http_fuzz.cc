// libFuzzer harness for the admin HTTP endpoint (common/admin_http.h), the
// one every role serves. The first byte picks the target:
//   0  ParseAdminHttpRequest and CouldStartRequestLine, pure: the rest is a
//      request head (CRLF CRLF appended when missing, so that most inputs
//      reach the request line and header parsers); what it accepts is
//      checked against the contract (absolute path without its query,
//      HTTP/1.0 or 1.1, a token method);
//   1  a real AdminHttpServer on loopback: the rest is what a client sends
//      on one connection (several requests, keep-alive, garbage, a head over
//      the limit), read until the server closes it. A connection that stays
//      open past the deadline after the client finished sending is a bug.
// Run: fuzz/run, or build-fuzz/fuzz/admin_http_fuzz fuzz/corpus/admin_http_fuzz
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/admin_http.h"
#include "common/logging.h"
#include "common/metrics.h"

namespace {

using namespace strata;

constexpr auto kConnectionDeadline = std::chrono::seconds(10);

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

bool IsTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

void FuzzParser(std::string_view in) {
  (void)CouldStartRequestLine(in);
  std::string head(in);
  if (head.size() < 4 || head.compare(head.size() - 4, 4, "\r\n\r\n") != 0) head += "\r\n\r\n";
  auto req = ParseAdminHttpRequest(head);
  if (!req.ok()) return;
  Check(!req->method.empty());
  for (char c : req->method) Check(IsTokenChar(c));
  Check(!req->path.empty() && req->path[0] == '/');
  Check(req->path.find('?') == std::string::npos);
  for (char c : req->path) Check(static_cast<unsigned char>(c) > 0x20 && c != 0x7f);
  // The server reads on while CouldStartRequestLine holds: an accepted head
  // with an upper-case method must pass it, or such requests never arrive.
  if (req->method.size() <= 16 && req->method.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") == std::string::npos) {
    Check(CouldStartRequestLine(head));
  }
}

int ServerPort() {
  static int port = [] {
    spdlog::set_level(spdlog::level::off);
    auto* registry = new MetricsRegistry();
    registry->GetCounter("fuzz_requests_total", "requests")->Add(1);
    AdminHttpOptions options;
    options.max_request_bytes = 1024;
    options.request_timeout_ms = 2'000;
    options.idle_timeout_ms = 2'000;
    options.threads = 1;
    auto* server = new AdminHttpServer(registry, [] { return nlohmann::json{{"role", "fuzz"}}; }, options);
    auto bound = server->Start("127.0.0.1", 0);
    Check(bound.ok());
    return *bound;
  }();
  return port;
}

void FuzzServer(std::string_view in) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(ServerPort()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return;
  }
  size_t sent = 0;
  bool shut = false;
  const auto deadline = std::chrono::steady_clock::now() + kConnectionDeadline;
  char buf[16384];
  for (;;) {
    Check(std::chrono::steady_clock::now() < deadline);
    if (sent == in.size() && !shut) {
      shutdown(fd, SHUT_WR);
      shut = true;
    }
    pollfd p{fd, static_cast<short>(POLLIN | (shut ? 0 : POLLOUT)), 0};
    if (poll(&p, 1, 100) <= 0) continue;
    if (p.revents & POLLOUT) {
      ssize_t n = send(fd, in.data() + sent, in.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        sent += static_cast<size_t>(n);
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        sent = in.size();  // the server closed while we were sending
      }
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) break;
    }
  }
  close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    FuzzParser(in);
  } else {
    FuzzServer(in);
  }
  return 0;
}
