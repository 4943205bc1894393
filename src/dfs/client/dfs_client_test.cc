#include "dfs/client/dfs_client.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include <gtest/gtest.h>

namespace strata::dfs {
namespace {

// A local port nothing listens on: connections to it are refused at once.
std::string ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);
  return "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
}

int64_t MillisSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t).count();
}

// Calls that follow each other while the master does not answer share one
// bound: the second one, made right after the first gave up, tries once and
// fails instead of waiting a whole bound again.
TEST(DfsClientTest, CallsInOneOutageShareOneBound) {
  DfsClientOptions o;
  o.master = ClosedPort();
  o.master_first_contact_ms_max = 600;
  DfsClient client(o);
  auto t0 = std::chrono::steady_clock::now();
  auto st = client.Stat("/f");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(st.status().message().find("gave up after"), std::string::npos) << st.status().ToString();
  EXPECT_GE(MillisSince(t0), 300);
  auto t1 = std::chrono::steady_clock::now();
  Status del = client.Delete("/f", false);
  EXPECT_EQ(del.code(), StatusCode::kUnavailable) << del.ToString();
  EXPECT_LT(MillisSince(t1), 250) << del.ToString();
  EXPECT_LT(MillisSince(t0), 900);
}

}  // namespace
}  // namespace strata::dfs
