// The admin HTTP endpoint under idle and misbehaving clients: it keeps
// answering /status and /metrics whatever the other connections do. Raw
// sockets on 127.0.0.1; every wait polls against a deadline.
#include "common/admin_http.h"
#include "common/testing/loopback_conn.h"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace strata {
namespace {

using Clock = std::chrono::steady_clock;

class HttpConn : public testing::LoopbackConn {
 public:
  using LoopbackConn::LoopbackConn;

  // Reads one response (head and Content-Length body) within `ms`; empty on
  // timeout or when the server closed first.
  std::string Response(int ms = 2000) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(ms);
    for (;;) {
      size_t head_end = buf_.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        size_t length = 0;
        size_t at = buf_.find("Content-Length: ");
        if (at != std::string::npos && at < head_end) length = std::stoul(buf_.substr(at + 16));
        if (buf_.size() >= head_end + 4 + length) {
          std::string response = buf_.substr(0, head_end + 4 + length);
          buf_.erase(0, response.size());
          return response;
        }
      }
      if (!Receive(deadline)) return {};
    }
  }

  std::string Get(const std::string& path, int ms = 2000) {
    if (!Send("GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n")) return {};
    return Response(ms);
  }

  // True when the server closed the connection within `ms`.
  bool ClosedWithin(int ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(ms);
    while (Receive(deadline)) {}
    return closed_;
  }

 private:
  // Appends what arrives before `deadline`; false on timeout or close.
  bool Receive(Clock::time_point deadline) {
    if (closed_ || !Readable(deadline)) return false;
    char chunk[4096];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    buf_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  bool closed_ = false;
  std::string buf_;
};

bool IsOk(const std::string& response) { return response.rfind("HTTP/1.1 200 ", 0) == 0; }

// Issue 12 #7: with 8 idle keep-alive connections open, /status and
// /metrics stopped answering (every server thread waited on one of them).
TEST(AdminHttpTest, AnswersWhileManyIdleKeepAliveConnectionsAreOpen) {
  MetricsRegistry metrics;
  metrics.GetCounter("strata_test_total", "a test counter")->Add(3);
  AdminHttpServer server(&metrics, [] { return nlohmann::json{{"role", "test"}}; });
  auto port = server.Start("127.0.0.1", 0);
  ASSERT_TRUE(port.ok()) << port.status().ToString();
  std::vector<std::unique_ptr<HttpConn>> idle;
  for (int i = 0; i < 8; ++i) {  // served once, then kept alive and silent
    idle.push_back(std::make_unique<HttpConn>(*port));
    ASSERT_TRUE(IsOk(idle.back()->Get("/status"))) << "connection " << i;
  }
  for (int i = 0; i < 8; ++i) {  // opened and never used
    idle.push_back(std::make_unique<HttpConn>(*port));
    ASSERT_TRUE(idle.back()->connected());
  }
  HttpConn probe(*port);
  std::string status = probe.Get("/status");
  ASSERT_TRUE(IsOk(status)) << "no answer to /status with 16 idle connections open: '" << status << "'";
  EXPECT_NE(status.find("\"role\": \"test\""), std::string::npos) << status;
  std::string metrics_page = probe.Get("/metrics");
  ASSERT_TRUE(IsOk(metrics_page)) << metrics_page;
  EXPECT_NE(metrics_page.find("strata_test_total 3"), std::string::npos) << metrics_page;
  // The kept-alive connections still serve requests.
  EXPECT_TRUE(IsOk(idle[0]->Get("/metrics")));
  server.Stop();
}

// At the connection limit a newcomer makes room by closing the connection
// that waited longest; idle keep-alive connections are closed after
// idle_timeout_ms, and slow senders after request_timeout_ms.
TEST(AdminHttpTest, BoundsConnectionsAndIdleTime) {
  MetricsRegistry metrics;
  AdminHttpServer server(&metrics, [] { return nlohmann::json::object(); },
                         AdminHttpOptions{.max_connections = 4, .idle_timeout_ms = 300, .request_timeout_ms = 300});
  auto port = server.Start("127.0.0.1", 0);
  ASSERT_TRUE(port.ok()) << port.status().ToString();
  std::vector<std::unique_ptr<HttpConn>> idle;
  for (int i = 0; i < 10; ++i) idle.push_back(std::make_unique<HttpConn>(*port));
  HttpConn probe(*port);
  EXPECT_TRUE(IsOk(probe.Get("/status")));
  EXPECT_TRUE(idle[0]->ClosedWithin(5000)) << "the oldest idle connection made room";
  EXPECT_TRUE(idle[9]->ClosedWithin(5000)) << "an idle connection outlived idle_timeout_ms";
  EXPECT_TRUE(probe.ClosedWithin(5000)) << "a kept-alive connection outlived idle_timeout_ms";
  HttpConn slow(*port);
  ASSERT_TRUE(slow.Send("GET /status HTTP/1.1\r\n"));  // and never the rest
  EXPECT_TRUE(slow.ClosedWithin(5000)) << "a request not received within request_timeout_ms";
  HttpConn again(*port);
  EXPECT_TRUE(IsOk(again.Get("/metrics")));
}

TEST(AdminHttpTest, RefusesWhatIsNotAnAdminRequest) {
  MetricsRegistry metrics;
  int calls = 0;
  AdminHttpServer server(&metrics, [&] {
    calls++;
    return nlohmann::json::object();
  });
  auto port = server.Start("127.0.0.1", 0);
  ASSERT_TRUE(port.ok());
  // The status line of the answer, and whether the server then closed.
  auto answer = [&](const std::string& request, bool wait_for_close) {
    HttpConn c(*port);
    c.Send(request);
    std::string response = c.Response();
    return std::make_pair(response.substr(0, response.find("\r\n")), wait_for_close && c.ClosedWithin(2000));
  };
  using Answer = std::pair<std::string, bool>;
  EXPECT_EQ(answer("GARBAGE\r\n\r\n", true), Answer("HTTP/1.1 400 Bad Request", true));
  EXPECT_EQ(answer("GET /status HTTP/2.0\r\n\r\n", true), Answer("HTTP/1.1 400 Bad Request", true));
  EXPECT_EQ(answer("GET /status HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", true),
            Answer("HTTP/1.1 400 Bad Request", true));
  EXPECT_EQ(answer("GET /status HTTP/1.1\r\nX-Big: " + std::string(9000, 'x') + "\r\n\r\n", true),
            Answer("HTTP/1.1 431 Request Header Fields Too Large", true));
  EXPECT_EQ(calls, 0) << "a malformed request reached the role";
  EXPECT_EQ(answer("POST /status HTTP/1.1\r\nContent-Length: 0\r\n\r\n", false).first,
            "HTTP/1.1 405 Method Not Allowed");
  EXPECT_EQ(answer("GET /nothing HTTP/1.1\r\n\r\n", false).first, "HTTP/1.1 404 Not Found");
  EXPECT_EQ(answer("GET /status?pretty HTTP/1.0\r\n\r\n", true), Answer("HTTP/1.1 200 OK", true));
  EXPECT_EQ(calls, 1);
  // Two pipelined requests on one connection get two answers, in order.
  HttpConn c(*port);
  c.Send("GET /status HTTP/1.1\r\n\r\nGET /nothing HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(IsOk(c.Response()));
  EXPECT_EQ(c.Response().rfind("HTTP/1.1 404 ", 0), 0u);
  EXPECT_TRUE(c.ClosedWithin(2000));
}

TEST(AdminHttpTest, ParsesRequestHeads) {
  auto req = ParseAdminHttpRequest("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n");
  ASSERT_TRUE(req.ok()) << req.status().ToString();
  EXPECT_EQ(req->method, "GET");
  EXPECT_EQ(req->path, "/metrics");
  EXPECT_FALSE(req->keep_alive);
  EXPECT_TRUE(ParseAdminHttpRequest("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")->keep_alive);
  for (const char* bad : {"", "\r\n\r\n", "GET /\r\n\r\n", "GET  / HTTP/1.1\r\n\r\n", "GET x HTTP/1.1\r\n\r\n",
                          "GET / HTTP/1.1\r\nno colon\r\n\r\n", "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                          "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "G\x01T / HTTP/1.1\r\n\r\n"}) {
    EXPECT_FALSE(ParseAdminHttpRequest(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace strata

namespace strata {
namespace {

TEST(AdminHttpRequestLineTest, BinaryBytesCannotStartARequest) {
  EXPECT_TRUE(CouldStartRequestLine(""));
  EXPECT_TRUE(CouldStartRequestLine("GE"));
  EXPECT_TRUE(CouldStartRequestLine("GET /metrics HTTP/1.1\r\n"));
  EXPECT_FALSE(CouldStartRequestLine(std::string("\x53\x54\x52\x41\x00\x01", 6)));  // an RPC frame header
  EXPECT_FALSE(CouldStartRequestLine("get / HTTP/1.1"));
  EXPECT_FALSE(CouldStartRequestLine(" GET"));
  EXPECT_FALSE(CouldStartRequestLine("ABCDEFGHIJKLMNOPQ / HTTP/1.1"));
}

}  // namespace
}  // namespace strata
