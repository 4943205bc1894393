// System tests of `strata up` itself: the settings of its config file reach
// each role, a role that cannot start is named with its reason, the shape and
// settings saved at the first `up` are kept by later ones, a partly running
// cluster gets only its missing roles back, and every config example in the
// docs starts.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "common/subprocess.h"
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

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in, nullptr, false);
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

// Every role of a cluster.json by name (master, cs1.., blockmanager, bs1..,
// nbd, cache) -> {pid, the address it serves}.
std::map<std::string, std::pair<pid_t, std::string>> Roles(const nlohmann::json& doc) {
  std::map<std::string, std::pair<pid_t, std::string>> roles;
  if (doc.is_discarded() || doc.is_null()) return roles;
  roles["master"] = {doc["master_pid"].get<pid_t>(), doc["master"].get<std::string>()};
  for (const auto& cs : doc["chunkservers"]) {
    roles[cs["id"].get<std::string>()] = {cs["pid"].get<pid_t>(), cs["addr"].get<std::string>()};
  }
  if (doc.contains("blockmanager")) {
    roles["blockmanager"] = {doc["blockmanager"]["pid"].get<pid_t>(), doc["blockmanager"]["addr"].get<std::string>()};
    for (const auto& bs : doc["blockservers"]) {
      roles[bs["id"].get<std::string>()] = {bs["pid"].get<pid_t>(), bs["addr"].get<std::string>()};
    }
    roles["nbd"] = {doc["nbd"]["pid"].get<pid_t>(), doc["nbd"]["addr"].get<std::string>()};
  }
  if (doc.contains("cache")) roles["cache"] = {doc["cache"]["pid"].get<pid_t>(), doc["cache"]["resp"].get<std::string>()};
  return roles;
}

// The roles `strata up` says it started: the words after "Started the roles
// that were down:" up to the end of that line or a "(".
std::set<std::string> Started(const std::string& out) {
  const std::string prefix = "Started the roles that were down:";
  auto at = out.find(prefix);
  if (at == std::string::npos) return {};
  std::string line = out.substr(at + prefix.size(), out.find('\n', at) - at - prefix.size());
  line = line.substr(0, line.find('('));
  std::istringstream words(line);
  std::set<std::string> roles;
  for (std::string w; words >> w;) roles.insert(w);
  return roles;
}

// `strata down` of a directory when the test ends, whatever happened.
class DownAtExit {
 public:
  explicit DownAtExit(std::string dir) : dir_(std::move(dir)) {}
  ~DownAtExit() {
    if (std::filesystem::exists(dir_ + "/cluster.json")) (void)RunStrata({"down", "--dir", dir_});
  }

 private:
  std::string dir_;
};

// The settings of the tests below: fast failure detection, no block roles
// unless `block` says so.
std::string SmallClusterYaml(int chunkservers, const std::string& cache_lines, bool block = false, int racks = 2) {
  return "chunkservers: " + std::to_string(chunkservers) + "\nracks: " + std::to_string(racks) +
         "\n"
         "disks_per_chunkserver: 1\n"
         "cache:\n"
         "  memory: 64M\n" +
         cache_lines + "block:\n  enabled: " + (block ? "true" : "false") +
         "\n  nbd_port: 0\n  blockservers: 2\n"
         "blockmanager:\n  heartbeat_interval_ms: 200\n  lease_ms: 1500\n  dead_after_ms: 2500\n"
         "master:\n"
         "  default_chunk_size: 4M\n"
         "  chunkserver_dead_after_ms: 3000\n"
         "  heartbeat_interval_ms: 300\n"
         "chunkserver:\n"
         "  heartbeat_interval_ms: 300\n";
}

const char kPersistNamespace[] = "  namespaces:\n    - id=8,name=counters,engine=persist\n";

// Restarting without --config keeps the shape (chunkservers, racks, disks)
// and the settings of the first `up`, a persist namespace among them; a
// config that removes chunkservers or a persist namespace of the cluster is
// refused with the reason before anything starts; one that adds a
// chunkserver is applied.
TEST(LocalClusterSystemTest, RestartWithoutConfigKeepsTheSavedShapeAndSettings) {
  ScratchDir scratch("strata_upsaved");
  std::string dir = scratch.Path("cluster");
  DownAtExit down_at_exit(dir);
  WriteText(scratch.Path("four.yaml"), SmallClusterYaml(4, kPersistNamespace));
  auto first = RunStrata({"up", "--dir", dir, "--config", scratch.Path("four.yaml"), "--detach"});
  ASSERT_EQ(first.exit_code, 0) << first.err << first.out;
  std::string master_yaml = ReadText(dir + "/master.yaml");
  ASSERT_NE(master_yaml.find("default_chunk_size: 4M"), std::string::npos) << master_yaml;
  {
    TextClient r(ReadJson(dir + "/cluster.json")["cache"]["resp"].get<std::string>());
    ASSERT_TRUE(r.connected());
    EXPECT_EQ(r.Command(Resp({"SELECT", "8"})), "+OK\r\n");
    EXPECT_EQ(r.Command(Resp({"INCR", "hits"})), ":1\r\n");
  }
  ASSERT_EQ(RunStrata({"down", "--dir", dir}).exit_code, 0);

  auto again = RunStrata({"up", "--dir", dir, "--detach"});
  ASSERT_EQ(again.exit_code, 0) << again.err << again.out;
  auto doc = ReadJson(dir + "/cluster.json");
  ASSERT_EQ(doc["chunkservers"].size(), 4u) << doc.dump();
  for (const auto& cs : doc["chunkservers"]) {
    EXPECT_EQ(cs["disks"].size(), 1u) << cs.dump();
    EXPECT_TRUE(cs["rack"] == "rack1" || cs["rack"] == "rack2") << cs.dump();
  }
  EXPECT_FALSE(doc.contains("blockmanager")) << doc.dump();
  EXPECT_EQ(ReadText(dir + "/master.yaml"), master_yaml);
  EXPECT_FALSE(std::filesystem::exists(dir + "/cs5")) << "a chunkserver of the default shape was made";
  {
    TextClient r(doc["cache"]["resp"].get<std::string>());
    ASSERT_TRUE(r.connected());
    EXPECT_EQ(r.Command(Resp({"SELECT", "8"})), "+OK\r\n");
    EXPECT_EQ(r.Command(Resp({"GET", "hits"})), "$1\r\n1\r\n");
    EXPECT_NE(r.Command(Resp({"HSET", "h", "f", "v"})).find("persist engine"), std::string::npos);
  }
  ASSERT_EQ(RunStrata({"down", "--dir", dir}).exit_code, 0);

  // Fewer chunkservers: refused, nothing started.
  WriteText(scratch.Path("three.yaml"), SmallClusterYaml(3, kPersistNamespace));
  auto fewer = RunStrata({"up", "--dir", dir, "--config", scratch.Path("three.yaml"), "--detach"});
  EXPECT_NE(fewer.exit_code, 0) << fewer.out;
  EXPECT_NE(fewer.err.find("chunkservers"), std::string::npos) << fewer.err;
  EXPECT_NE(fewer.err.find("cs4"), std::string::npos) << fewer.err;
  for (const auto& [role, pid_addr] : Roles(ReadJson(dir + "/cluster.json"))) {
    EXPECT_FALSE(ProcessAlive(pid_addr.first)) << role << " was started by a refused `up`";
  }
  // The persist namespace left out: refused.
  WriteText(scratch.Path("no-namespace.yaml"), SmallClusterYaml(4, ""));
  auto dropped = RunStrata({"up", "--dir", dir, "--config", scratch.Path("no-namespace.yaml"), "--detach"});
  EXPECT_NE(dropped.exit_code, 0) << dropped.out;
  EXPECT_NE(dropped.err.find("persist namespace"), std::string::npos) << dropped.err;
  EXPECT_NE(dropped.err.find("counters"), std::string::npos) << dropped.err;

  // One more chunkserver: added, and kept by the next `up` without --config.
  WriteText(scratch.Path("five.yaml"), SmallClusterYaml(5, kPersistNamespace));
  auto more = RunStrata({"up", "--dir", dir, "--config", scratch.Path("five.yaml"), "--detach"});
  ASSERT_EQ(more.exit_code, 0) << more.err << more.out;
  EXPECT_EQ(ReadJson(dir + "/cluster.json")["chunkservers"].size(), 5u);
  ASSERT_EQ(RunStrata({"down", "--dir", dir}).exit_code, 0);
  auto third = RunStrata({"up", "--dir", dir, "--detach"});
  ASSERT_EQ(third.exit_code, 0) << third.err << third.out;
  EXPECT_EQ(ReadJson(dir + "/cluster.json")["chunkservers"].size(), 5u);
}

// `strata up` on a partly running cluster starts only the roles that are
// down, on their saved ports, and names them; the running ones keep their
// pids. On a fully running cluster it starts nothing and says so.
TEST(LocalClusterSystemTest, UpRestartsOnlyTheRolesThatAreDown) {
  ScratchDir scratch("strata_uppartial");
  std::string dir = scratch.Path("cluster");
  DownAtExit down_at_exit(dir);
  WriteText(scratch.Path("cluster.yaml"), SmallClusterYaml(3, kPersistNamespace, /*block=*/true, /*racks=*/3));
  auto first = RunStrata({"up", "--dir", dir, "--config", scratch.Path("cluster.yaml"), "--detach"});
  ASSERT_EQ(first.exit_code, 0) << first.err << first.out;
  auto before = Roles(ReadJson(dir + "/cluster.json"));
  ASSERT_EQ(before.size(), 9u);  // master, cs1-3, blockmanager, bs1-2, nbd, cache

  // Round by round, SIGKILL some roles, `strata up`, and compare.
  const std::vector<std::vector<std::string>> rounds = {
      {"cs2"}, {"blockmanager", "bs1", "nbd", "cache"}, {"master"}};
  for (const auto& killed : rounds) {
    SCOPED_TRACE("killed " + killed.front());
    for (const auto& role : killed) ::kill(before[role].first, SIGKILL);
    for (const auto& role : killed) {
      ASSERT_TRUE(WaitFor([&] { return !ProcessAlive(before[role].first); }, 10s)) << role;
    }
    auto up = RunStrata({"up", "--dir", dir, "--detach"});
    ASSERT_EQ(up.exit_code, 0) << up.err << up.out;
    auto after = Roles(ReadJson(dir + "/cluster.json"));
    ASSERT_EQ(after.size(), before.size());
    for (const auto& [role, pid_addr] : before) {
      bool was_killed = std::find(killed.begin(), killed.end(), role) != killed.end();
      EXPECT_EQ(after[role].second, pid_addr.second) << role << " moved";
      EXPECT_TRUE(ProcessAlive(after[role].first)) << role;
      if (was_killed) {
        EXPECT_NE(after[role].first, pid_addr.first) << role;
        EXPECT_TRUE(Started(up.out).count(role)) << up.out;
      } else {
        EXPECT_FALSE(Started(up.out).count(role)) << up.out;
        EXPECT_EQ(after[role].first, pid_addr.first) << role << " was restarted";
      }
    }
    before = after;
  }
  // Every role serves again: a file goes through the dfs, a volume through
  // the block roles, a counter through the cache.
  auto doc = ReadJson(dir + "/cluster.json");
  std::string src = scratch.Path("src"), dst = scratch.Path("dst");
  WriteRandomFile(src, 1 << 20, 12);
  auto put = RunStrata({"fs", "put", "--dir", dir, src, "/after-restarts"});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  ASSERT_EQ(RunStrata({"fs", "get", "--dir", dir, "/after-restarts", dst}).exit_code, 0);
  EXPECT_TRUE(FilesEqual(src, dst));
  auto volume = RunStrata({"volume", "create", "--dir", dir, "vm1", "8M"});
  ASSERT_EQ(volume.exit_code, 0) << volume.err;
  auto size = RunCommand({"nbdinfo", "--size", "nbd://" + doc["nbd"]["addr"].get<std::string>() + "/vm1"});
  EXPECT_EQ(size.out, "8388608\n") << size.err;
  TextClient r(doc["cache"]["resp"].get<std::string>());
  ASSERT_TRUE(r.connected());
  EXPECT_EQ(r.Command(Resp({"SELECT", "8"})), "+OK\r\n");
  EXPECT_EQ(r.Command(Resp({"INCR", "hits"})), ":1\r\n");

  // A chunkserver restarted by hand counts as running (it holds its disks'
  // locks): `up` starts nothing, says so, and records its pid.
  std::vector<std::string> argv = TestCluster::CommandLine(before["cs3"].first);
  ASSERT_GT(argv.size(), 1u);
  ::kill(before["cs3"].first, SIGKILL);
  ASSERT_TRUE(WaitFor([&] { return !ProcessAlive(before["cs3"].first); }, 10s));
  pid_t by_hand = StartStrata(std::vector<std::string>(argv.begin() + 1, argv.end()), scratch.Path("cs3.log"));
  ASSERT_GT(by_hand, 0);
  const std::string disk_lock = doc["chunkservers"][2]["disks"][0].get<std::string>() + "/LOCK";
  ASSERT_TRUE(WaitFor([&] { return ProcessesHoldingOpen({disk_lock}) == std::vector<pid_t>{by_hand}; }, 30s));
  auto idle = RunStrata({"up", "--dir", dir, "--detach"});
  EXPECT_EQ(idle.exit_code, 0) << idle.err << idle.out;
  EXPECT_NE(idle.out.find("already running"), std::string::npos) << idle.out;
  before["cs3"].first = by_hand;
  EXPECT_EQ(Roles(ReadJson(dir + "/cluster.json")), before);
  // A different config for a running cluster is refused.
  WriteText(scratch.Path("other.yaml"), SmallClusterYaml(3, kPersistNamespace + std::string("  threads: 1\n"), true, 3));
  auto other = RunStrata({"up", "--dir", dir, "--config", scratch.Path("other.yaml"), "--detach"});
  EXPECT_NE(other.exit_code, 0) << other.out;
  EXPECT_NE(other.err.find("running"), std::string::npos) << other.err;
  EXPECT_EQ(Roles(ReadJson(dir + "/cluster.json")), before);
  EXPECT_EQ(RunStrata({"down", "--dir", dir}).exit_code, 0);
  EXPECT_EQ(WaitExit(by_hand), 0);
}

}  // namespace
}  // namespace strata::testing
