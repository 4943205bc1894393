// Highly available masters on etcd (docs/etcd.md): three etcd members, three
// `strata master --etcd` processes (one leader, two standbys) and three
// chunkservers given the list of masters, all real processes on free ports
// under a scratch directory. The leader is SIGKILLed; a standby takes over
// within the lease TTL, a file put before the kill reads back identical and
// a new put succeeds. The time from the kill to the first metadata operation
// the new leader served is printed. `strata up --ha` starts the same shape
// as a local cluster, which `strata cluster status` describes and `strata
// down` stops.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/subprocess.h"
#include "meta/testing/etcd_cluster.h"
#include "testing/cluster.h"

namespace strata::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double MillisSince(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// Every process the test starts, SIGKILLed and reaped when it ends.
struct Processes {
  std::vector<pid_t> pids;
  ~Processes() {
    for (pid_t p : pids) KillAndReap(p);
  }
  static void KillAndReap(pid_t p) {
    if (p <= 0) return;
    ::kill(p, SIGKILL);
    int status = 0;
    while (::waitpid(p, &status, 0) < 0 && errno == EINTR) {}
  }
};

int FreePort() {
  auto p = PickFreePort("127.0.0.1");
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? *p : 0;
}

nlohmann::json HttpJson(const std::string& hostport, const std::string& path) {
  auto r = RunCommand({"curl", "-s", "--max-time", "2", "http://" + hostport + path});
  if (r.exit_code != 0) return nullptr;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  return j.is_discarded() ? nlohmann::json(nullptr) : j;
}

struct Master {
  std::string addr;
  std::string http;
  pid_t pid = -1;
};

// The index of the master whose /status says it leads and serves, or -1.
int Leader(const std::vector<Master>& masters) {
  for (size_t i = 0; i < masters.size(); ++i) {
    if (masters[i].pid <= 0) continue;
    auto s = HttpJson(masters[i].http, "/status");
    if (!s.is_null() && s.contains("ha") && s["ha"]["role"] == "leader") return static_cast<int>(i);
  }
  return -1;
}

// Three etcd members, three masters on them and three chunkservers given the
// list of masters, as real processes; `Start` returns once a master leads and
// sees every chunkserver.
class HaCluster {
 public:
  explicit HaCluster(const std::string& name) : scratch(name) {}

  // Empty on success, else what went wrong (with the logs).
  std::string Start() {
    auto etcd_started = Clock::now();
    if (Status st = etcd.Start(30s); !st.ok()) return "etcd: " + st.ToString();
    std::printf("3 etcd members healthy in %.0f ms\n", MillisSince(etcd_started));
    std::string endpoints;
    for (const auto& url : etcd.ClientUrls()) endpoints += (endpoints.empty() ? "" : ",") + url;
    const std::string config = scratch.Path("master.yaml");
    {
      std::ofstream out(config);
      out << "master:\n"
          << "  meta_store: etcd\n"
          << "  etcd_endpoints: \"" << endpoints << "\"\n"
          << "  etcd_key_prefix: strata/ha_test/master/\n"
          << "  default_chunk_size: 1M\n";
    }
    masters.resize(3);
    for (auto& m : masters) {
      m.addr = "127.0.0.1:" + std::to_string(FreePort());
      m.http = "127.0.0.1:" + std::to_string(FreePort());
      list += (list.empty() ? "" : ",") + m.addr;
    }
    for (size_t i = 0; i < masters.size(); ++i) {
      const std::string n = "m" + std::to_string(i + 1);
      masters[i].pid = StartStrata({"master", "--host", "127.0.0.1", "--port", masters[i].addr.substr(10),
                                    "--http-port", masters[i].http.substr(10), "--data-dir", scratch.Path(n),
                                    "--config", config},
                                   scratch.Path(n + ".log"));
      procs.pids.push_back(masters[i].pid);
    }
    for (int i = 0; i < 3; ++i) {
      const std::string id = "cs" + std::to_string(i + 1);
      const std::string disk = scratch.Path(id + "-disk0");
      std::filesystem::create_directories(disk);
      procs.pids.push_back(StartStrata({"chunkserver", "--id", id, "--master", list, "--host", "127.0.0.1", "--port",
                                        std::to_string(FreePort()), "--http-port", std::to_string(FreePort()),
                                        "--rack", "rack" + std::to_string(i + 1), "--disk", disk},
                                       scratch.Path(id + ".log")));
    }
    if (!WaitFor([&] { return Leader(masters) >= 0; }, 20s)) return "no master leads\n" + Logs();
    bool all_alive = WaitFor([&] {
      auto r = Cli({"cluster", "status", "--json"});
      if (r.exit_code != 0) return false;
      auto j = nlohmann::json::parse(r.out, nullptr, false);
      return !j.is_discarded() && j["totals"]["alive"] == 3;
    }, 30s);
    return all_alive ? "" : "the chunkservers did not all register\n" + Logs();
  }

  // The tail of every role's log, for failure messages.
  std::string Logs() const {
    std::string out;
    for (const char* n : {"m1", "m2", "m3", "cs1", "cs2", "cs3"}) {
      out += std::string("--- ") + n + ".log\n" +
             RunCommand({"tail", "-n", "25", scratch.Path(std::string(n) + ".log")}).out;
    }
    return out;
  }

  // `strata ARGS` given every master (or `master_list`).
  CommandResult Cli(std::vector<std::string> args, const std::string& master_list = "") const {
    args.insert(args.end(), {"--master", master_list.empty() ? list : master_list, "--dir", scratch.Path("cli")});
    return RunStrata(args);
  }

  meta::testing::EtcdCluster etcd{3};
  ScratchDir scratch;
  Processes procs;
  std::vector<Master> masters;
  std::string list;  // every master's address, comma-separated
};

TEST(MasterHaSystemTest, LeaderKilledAStandbyTakesOverAndServesTheNamespace) {
  if (!meta::testing::EtcdCluster::EtcdInstalled()) GTEST_SKIP() << "etcd is not installed";
  HaCluster c("strata_master_ha");
  ASSERT_EQ(c.Start(), "");
  std::vector<Master>& masters = c.masters;
  ScratchDir& scratch = c.scratch;
  auto logs = [&] { return c.Logs(); };
  auto cli = [&](std::vector<std::string> args) { return c.Cli(std::move(args)); };
  int leader = Leader(masters);
  ASSERT_GE(leader, 0);
  // The standbys answer with a redirect to the leader.
  for (size_t i = 0; i < masters.size(); ++i) {
    if (static_cast<int>(i) == leader) continue;
    auto s = HttpJson(masters[i].http, "/status");
    ASSERT_FALSE(s.is_null());
    EXPECT_EQ(s["ha"]["role"], "standby") << s.dump();
    EXPECT_EQ(s["ha"]["leader"], masters[leader].addr) << s.dump();
    auto r = RunStrata({"fs", "stat", "/", "--master", masters[i].addr, "--dir", scratch.Path("cli")});
    EXPECT_EQ(r.exit_code, 0) << r.err;  // followed the redirect
  }

  const std::string a = scratch.Path("a"), b = scratch.Path("b"), back = scratch.Path("back");
  WriteRandomFile(a, 6ull << 20, 41);
  WriteRandomFile(b, 5ull << 20, 42);
  auto put = cli({"fs", "put", a, "/a"});
  ASSERT_EQ(put.exit_code, 0) << put.err;

  const std::string killed = masters[leader].addr;
  auto kill_at = Clock::now();
  Processes::KillAndReap(masters[leader].pid);
  masters[leader].pid = -1;
  // The first metadata operation served after the kill: a stat, retried.
  double served_ms = -1;
  ASSERT_TRUE(WaitFor([&] {
    if (cli({"fs", "stat", "/a"}).exit_code != 0) return false;
    served_ms = MillisSince(kill_at);
    return true;
  }, 30s)) << logs();
  int next = -1;
  ASSERT_TRUE(WaitFor([&] { return (next = Leader(masters)) >= 0; }, 10s));
  EXPECT_NE(masters[next].addr, killed);
  std::printf("leader %s SIGKILLed: %s led and served its first metadata operation %.0f ms after the kill\n",
              killed.c_str(), masters[next].addr.c_str(), served_ms);
  EXPECT_LT(served_ms, 10000);

  auto get = cli({"fs", "get", "/a", back});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_TRUE(FilesEqual(a, back));
  auto put_started = Clock::now();
  put = cli({"fs", "put", b, "/b"});
  ASSERT_EQ(put.exit_code, 0) << put.err << logs();
  std::printf("a new put after the failover took %.0f ms\n", MillisSince(put_started));
  get = cli({"fs", "get", "/b", back});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_TRUE(FilesEqual(b, back));
}

// True once a connection to 127.0.0.1:`port` has bytes the listener has not
// read (a request waiting in a stopped process's socket).
bool RequestWaitingOnPort(int port) {
  auto r = RunCommand({"ss", "-Htn", "state", "established", "( sport = :" + std::to_string(port) + " )"});
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    uint64_t recv_q = 0;
    if (fields >> recv_q && recv_q > 0) return true;
  }
  return false;
}

// The leader frozen with SIGSTOP past its lease: a standby leads and files are
// made through it; a request sent to the frozen leader waits in its socket.
// Resumed with SIGCONT, the old leader steps down; its waiting request either
// failed and changed nothing, or was redirected and made by the new leader;
// the namespace holds exactly what was acknowledged and every file reads back.
TEST(MasterHaSystemTest, LeaderFrozenPastItsLeaseStepsDownAndWritesNothingWhenResumed) {
  if (!meta::testing::EtcdCluster::EtcdInstalled()) GTEST_SKIP() << "etcd is not installed";
  HaCluster c("strata_master_ha_stop");
  ASSERT_EQ(c.Start(), "");
  const std::string a = c.scratch.Path("a"), b = c.scratch.Path("b"), back = c.scratch.Path("back");
  WriteRandomFile(a, 3ull << 20, 51);
  WriteRandomFile(b, 2ull << 20, 52);
  ASSERT_EQ(c.Cli({"fs", "put", a, "/a"}).exit_code, 0);
  const int old = Leader(c.masters);
  ASSERT_GE(old, 0);
  const pid_t frozen = c.masters[old].pid;
  ASSERT_EQ(::kill(frozen, SIGSTOP), 0);
  struct Resume {
    pid_t pid;
    ~Resume() { ::kill(pid, SIGCONT); }
  } resume{frozen};
  std::vector<Master> others = c.masters;
  others[old].pid = -1;  // its admin page does not answer while frozen
  int next = -1;
  ASSERT_TRUE(WaitFor([&] { return (next = Leader(others)) >= 0; }, 20s)) << c.Logs();
  ASSERT_NE(next, old);

  // A mkdir sent to the frozen leader alone: it waits in its socket.
  const std::string pending_out = c.scratch.Path("pending.out");
  pid_t pending = StartStrata({"fs", "mkdir", "/from-frozen", "--master", c.masters[old].addr, "--dir",
                               c.scratch.Path("cli"), "--master-retry-ms", "30000"},
                              pending_out);
  const int old_port = std::stoi(c.masters[old].addr.substr(10));
  ASSERT_TRUE(WaitFor([&] { return RequestWaitingOnPort(old_port); }, 10s));

  const std::string new_leader = c.masters[next].addr;
  ASSERT_EQ(c.Cli({"fs", "mkdir", "/d"}, new_leader).exit_code, 0);
  auto put = c.Cli({"fs", "put", b, "/b"}, new_leader);
  ASSERT_EQ(put.exit_code, 0) << put.err << c.Logs();

  ASSERT_EQ(::kill(frozen, SIGCONT), 0);
  const int pending_exit = WaitExit(pending);
  // The old leader stepped down: a standby naming the new leader.
  ASSERT_TRUE(WaitFor([&] {
    auto st = HttpJson(c.masters[old].http, "/status");
    return !st.is_null() && st["ha"]["role"] == "standby" && st["ha"]["leader"] == new_leader;
  }, 20s)) << c.Logs();
  EXPECT_EQ(Leader(c.masters), next);

  auto ls = c.Cli({"fs", "ls", "/"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  std::set<std::string> listed;  // `fs ls` prints one name per line, directories with a trailing /
  std::istringstream lines(ls.out);
  for (std::string line; std::getline(lines, line);) {
    while (!line.empty() && (line.back() == '/' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) listed.insert(line);
  }
  std::set<std::string> expected = {"a", "b", "d"};
  // Acknowledged (through a redirect to the new leader): there; refused: not.
  if (pending_exit == 0) expected.insert("from-frozen");
  EXPECT_EQ(listed, expected) << ls.out << "\nmkdir sent to the frozen leader exited " << pending_exit << ": "
                              << RunCommand({"cat", pending_out}).out;
  for (const auto& [path, file] : {std::pair{"/a", a}, {"/b", b}}) {
    auto get = c.Cli({"fs", "get", path, back});
    ASSERT_EQ(get.exit_code, 0) << get.err;
    EXPECT_TRUE(FilesEqual(file, back)) << path;
  }
  auto status = c.Cli({"cluster", "status", "--json"});
  auto j = nlohmann::json::parse(status.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << status.out;
  EXPECT_EQ(j["chunks"].value("lost", 1), 0) << j["chunks"].dump();
}

// etcd loses one member while a put runs: it and every metadata operation
// still succeed. It loses
// two (no quorum): operations fail within their deadline with an error that
// says etcd has no quorum, and change nothing. One member back: operations
// succeed again and everything acknowledged is there.
TEST(MasterHaSystemTest, EtcdLosingOneMemberServesLosingTwoFailsClearlyAndRecovers) {
  if (!meta::testing::EtcdCluster::EtcdInstalled()) GTEST_SKIP() << "etcd is not installed";
  HaCluster c("strata_master_ha_quorum");
  ASSERT_EQ(c.Start(), "");
  const std::string f = c.scratch.Path("f"), back = c.scratch.Path("back");
  WriteRandomFile(f, 2ull << 20, 61);
  ASSERT_EQ(c.Cli({"fs", "put", f, "/before"}).exit_code, 0);

  // Under load: a put of 24 chunks runs while the member dies.
  const std::string big = c.scratch.Path("big");
  WriteRandomFile(big, 24ull << 20, 62);
  pid_t loading = StartStrata({"fs", "put", big, "/under-load", "--master", c.list, "--dir", c.scratch.Path("cli")},
                              c.scratch.Path("under-load.out"));
  c.etcd.Kill(0);
  for (const char* dir : {"/one-down-1", "/one-down-2", "/one-down-3"}) {
    auto r = c.Cli({"fs", "mkdir", dir});
    EXPECT_EQ(r.exit_code, 0) << dir << ": " << r.err << c.Logs();
  }
  EXPECT_EQ(WaitExit(loading), 0) << RunCommand({"cat", c.scratch.Path("under-load.out")}).out << c.Logs();
  auto put = c.Cli({"fs", "put", f, "/one-down-file"});
  EXPECT_EQ(put.exit_code, 0) << put.err << c.Logs();

  c.etcd.Kill(1);
  auto refused = c.Cli({"fs", "mkdir", "/no-quorum", "--master-retry-ms", "8000"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("quorum"), std::string::npos) << refused.err;

  ASSERT_TRUE(c.etcd.Restart(1).ok());
  bool served = WaitFor([&] { return c.Cli({"fs", "mkdir", "/quorum-back"}).exit_code == 0; }, 30s);
  ASSERT_TRUE(served) << c.Logs();
  auto ls = c.Cli({"fs", "ls", "/"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  for (const char* name : {"before", "one-down-1/", "one-down-2/", "one-down-3/", "one-down-file", "quorum-back/"}) {
    EXPECT_NE(ls.out.find(std::string(name) + "\n"), std::string::npos) << name << " missing:\n" << ls.out;
  }
  EXPECT_EQ(ls.out.find("no-quorum"), std::string::npos) << ls.out;  // its mkdir failed: not made
  for (const auto& [path, file] : {std::pair{"/before", f}, {"/one-down-file", f}, {"/under-load", big}}) {
    auto get = c.Cli({"fs", "get", path, back});
    ASSERT_EQ(get.exit_code, 0) << get.err;
    EXPECT_TRUE(FilesEqual(file, back)) << path;
  }
}

// `strata up --ha`: cluster.json lists 3 etcd members and 3 masters; the
// status names the leader, its standbys and 3 healthy etcd members; the leader
// SIGKILLed, the CLI (given only --dir) reads a file put before and puts a new
// one through the new leader; `strata down` stops etcd too, and a later `up`
// (without --ha: the saved config keeps it) finds both files.
TEST(MasterHaSystemTest, UpHaStartsEtcdAndThreeMastersThatFailOver) {
  if (!meta::testing::EtcdCluster::EtcdInstalled()) GTEST_SKIP() << "etcd is not installed";
  ScratchDir scratch("strata_up_ha");
  const std::string dir = scratch.Path("cluster");
  const std::string config = scratch.Path("ha.yaml");
  {
    std::ofstream out(config);
    out << "chunkservers: 3\nracks: 3\ndisks_per_chunkserver: 1\ncache:\n  enabled: false\nblock:\n"
           "  enabled: false\n";
  }
  struct Down {
    std::string dir;
    ~Down() { (void)RunStrata({"down", "--dir", dir}); }
  } down{dir};
  auto up = RunStrata({"up", "--dir", dir, "--config", config, "--ha", "--detach"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_NE(up.out.find("etcd "), std::string::npos) << up.out;
  std::ifstream in(dir + "/cluster.json");
  auto doc = nlohmann::json::parse(in, nullptr, false);
  ASSERT_FALSE(doc.is_discarded());
  ASSERT_EQ(doc["etcd"]["members"].size(), 3u) << doc.dump(2);
  ASSERT_EQ(doc["masters"].size(), 3u) << doc.dump(2);
  EXPECT_FALSE(doc.contains("master_pid"));
  std::vector<Master> masters;
  for (const auto& m : doc["masters"]) {
    masters.push_back({m["addr"].get<std::string>(), m["http"].get<std::string>(), m["pid"].get<pid_t>()});
  }
  std::vector<pid_t> etcd_pids;
  for (const auto& e : doc["etcd"]["members"]) etcd_pids.push_back(e["pid"].get<pid_t>());

  auto status = RunStrata({"cluster", "status", "--dir", dir});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("masters: leader 127.0.0.1:"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("; standbys 127.0.0.1:"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("etcd: 3/3 members healthy"), std::string::npos) << status.out;

  const std::string a = scratch.Path("a"), b = scratch.Path("b"), back = scratch.Path("back");
  WriteRandomFile(a, 3 << 20, 31);
  WriteRandomFile(b, 2 << 20, 32);
  auto put = RunStrata({"fs", "put", "--dir", dir, a, "/a"});
  ASSERT_EQ(put.exit_code, 0) << put.err;

  int leader = -1;
  ASSERT_TRUE(WaitFor([&] { return (leader = Leader(masters)) >= 0; }, 10s));
  auto json = RunStrata({"cluster", "status", "--dir", dir, "--json"});
  auto before = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_TRUE(!before.is_discarded() && before.contains("ha") && before["ha"].is_object()) << json.out;
  const uint64_t term = before["ha"].value("term", uint64_t{0});
  EXPECT_EQ(before["ha"].value("addr", std::string()), masters[leader].addr);
  ASSERT_EQ(::kill(masters[leader].pid, SIGKILL), 0);
  masters[leader].pid = -1;

  auto get = RunStrata({"fs", "get", "--dir", dir, "/a", back});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_TRUE(FilesEqual(a, back));
  put = RunStrata({"fs", "put", "--dir", dir, b, "/b"});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  json = RunStrata({"cluster", "status", "--dir", dir, "--json"});
  auto after = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_TRUE(!after.is_discarded() && after.contains("ha") && after["ha"].is_object()) << json.out;
  EXPECT_GT(after["ha"].value("term", uint64_t{0}), term);
  EXPECT_NE(after["ha"].value("addr", std::string()), masters[leader].addr);

  // A recursive delete of 100 directories is one batch of about 200 records,
  // above etcd's default --max-txn-ops (128): `up --ha` raises the limit.
  std::string deep = "/many";
  for (int i = 0; i < 100; ++i) deep += "/d" + std::to_string(i);
  auto mkdirs = RunStrata({"fs", "mkdir", "-p", deep, "--dir", dir});
  ASSERT_EQ(mkdirs.exit_code, 0) << mkdirs.err;
  auto rm = RunStrata({"fs", "rm", "-r", "/many", "--dir", dir});
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_NE(RunStrata({"fs", "stat", "/many", "--dir", dir}).exit_code, 0);

  auto stopped = RunStrata({"down", "--dir", dir});
  ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
  for (pid_t p : etcd_pids) EXPECT_FALSE(ProcessAlive(p)) << "etcd " << p << " still runs after `strata down`";
  for (const auto& m : masters) {
    if (m.pid > 0) {
      EXPECT_FALSE(ProcessAlive(m.pid)) << "master " << m.pid << " still runs after `strata down`";
    }
  }

  up = RunStrata({"up", "--dir", dir, "--detach"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  for (const auto& [path, file] : {std::pair{"/a", a}, {"/b", b}}) {
    get = RunStrata({"fs", "get", "--dir", dir, path, back});
    ASSERT_EQ(get.exit_code, 0) << get.err;
    EXPECT_TRUE(FilesEqual(file, back)) << path;
  }
  // The namespace is in etcd: a config with one master is refused.
  (void)RunStrata({"down", "--dir", dir});
  {
    std::ofstream out(config);
    out << "chunkservers: 3\nracks: 3\ndisks_per_chunkserver: 1\ncache:\n  enabled: false\nblock:\n"
           "  enabled: false\n";
  }
  up = RunStrata({"up", "--dir", dir, "--config", config, "--detach"});
  EXPECT_NE(up.exit_code, 0);
  EXPECT_NE(up.err.find("its namespace is in etcd"), std::string::npos) << up.err;
}

}  // namespace
}  // namespace strata::testing
