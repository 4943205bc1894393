// System tests of `strata up` itself: the settings of its config file reach
// each role, and a role that cannot start is named with its reason.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

#include <gtest/gtest.h>

#include "testing/cluster.h"

namespace strata::testing {
namespace {

using namespace std::chrono_literals;

std::string Resp(const std::vector<std::string>& args) {
  std::string s = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) s += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return s;
}

// One TCP connection to a text protocol endpoint ("host:port"); each
// Command reads until the reply ends with `suffix` or 10 s pass.
class TextClient {
 public:
  explicit TextClient(const std::string& endpoint) {
    auto colon = endpoint.rfind(':');
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(std::stoi(endpoint.substr(colon + 1))));
    ::inet_pton(AF_INET, endpoint.substr(0, colon).c_str(), &addr.sin_addr);
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~TextClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return fd_ >= 0; }

  std::string Command(const std::string& request, const std::string& suffix = "\r\n") {
    if (::write(fd_, request.data(), request.size()) != static_cast<ssize_t>(request.size())) return "";
    std::string reply;
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!reply.ends_with(suffix)) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[4096];
      ssize_t n = ::read(fd_, buf, sizeof(buf));
      if (n <= 0) break;
      reply.append(buf, static_cast<size_t>(n));
    }
    return reply;
  }

 private:
  int fd_ = -1;
};

// The cache: section of the cluster config reaches `strata cache`: its max
// value size, and a persist namespace with a name.
TEST(LocalClusterSystemTest, CacheSettingsAndPersistNamespaceReachTheCache) {
  TestCluster c(TestClusterConfig{.cache_yaml = "  max_value_size: 2M\n"
                                                "  namespaces:\n"
                                                "    - id=8,name=counters,engine=persist\n"});
  ASSERT_FALSE(c.info().is_null());
  ASSERT_TRUE(c.info().contains("cache")) << c.info().dump();
  TextClient r(c.info()["cache"]["resp"].get<std::string>());
  ASSERT_TRUE(r.connected());
  EXPECT_EQ(r.Command(Resp({"CONFIG", "GET", "proto-max-bulk-len"}), "2097152\r\n"),
            "*2\r\n$18\r\nproto-max-bulk-len\r\n$7\r\n2097152\r\n");
  EXPECT_EQ(r.Command(Resp({"SELECT", "8"})), "+OK\r\n");
  EXPECT_EQ(r.Command(Resp({"INCR", "hits"})), ":1\r\n");
  // Only the persist engine refuses hashes.
  EXPECT_NE(r.Command(Resp({"HSET", "h", "f", "v"})).find("persist engine"), std::string::npos);
  // memcached clients reach the namespace by its name.
  TextClient m(c.info()["cache"]["memcache"].get<std::string>());
  ASSERT_TRUE(m.connected());
  EXPECT_EQ(m.Command("get counters:hits\r\n", "END\r\n"), "VALUE counters:hits 0 1\r\n1\r\nEND\r\n");
}

// A role that exits at startup is named, with the last line of its log.
TEST(LocalClusterSystemTest, RoleThatCannotStartIsNamedWithItsReason) {
  ScratchDir scratch("strata_upfail");
  std::string config = scratch.Path("bad-cache.yaml");
  {
    std::ofstream out(config);
    out << "chunkservers: 1\nracks: 1\ndisks_per_chunkserver: 1\ncache:\n  no_such_cache_key: 1\n";
  }
  std::string dir = scratch.Path("cluster");
  auto up = RunStrata({"up", "--dir", dir, "--config", config, "--detach"});
  if (up.exit_code == 0) (void)RunStrata({"down", "--dir", dir});
  EXPECT_NE(up.exit_code, 0);
  EXPECT_NE(up.err.find("the cache exited during startup: "), std::string::npos) << up.err;
  EXPECT_NE(up.err.find("unknown key 'no_such_cache_key'"), std::string::npos) << up.err;
  EXPECT_NE(up.err.find("see " + dir + "/logs/cache.log"), std::string::npos) << up.err;
}

}  // namespace
}  // namespace strata::testing
