// System tests of operator mistakes around chunkserver identity: a second
// chunkserver pointed at a running one's disks, a second process with a live
// chunkserver's id, and `strata down` with a chunkserver restarted by hand.
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include <gtest/gtest.h>

#include "common/subprocess.h"
#include "testing/cluster.h"

namespace strata::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class DiskIdentitySystemTest : public ::testing::Test {
 protected:
  std::string Tmp(const std::string& name) { return scratch_.Path(name); }

  // Every .chunk file under the disks of chunkserver `i`.
  static std::set<std::string> ChunkFiles(const TestCluster& c, int i) {
    std::set<std::string> files;
    for (const auto& disk : c.info()["chunkservers"][i]["disks"]) {
      std::error_code ec;
      for (const auto& e : fs::recursive_directory_iterator(disk.get<std::string>(), ec)) {
        if (e.path().extension() == ".chunk") files.insert(e.path().string());
      }
    }
    return files;
  }
  static std::string ReadFile(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  // The master's view of chunkserver `id` (from `cluster status --json`).
  static nlohmann::json ServerStatus(const TestCluster& c, const std::string& id) {
    auto status = c.ClusterStatusJson();
    if (status.is_null() || status.is_discarded()) return nullptr;
    for (const auto& cs : status["chunkservers"]) {
      if (cs["id"] == id) return cs;
    }
    return nullptr;
  }
  // True once `pid` (a child of this test) has exited; stores its exit code.
  static bool Exited(pid_t pid, int* code) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) != pid) return false;
    *code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return true;
  }

  ScratchDir scratch_{"strata_disk_identity"};
};

// `strata chunkserver --id cs9 --disk <cs1's disks>` while cs1 runs: refused
// at once with a message naming the disk and its holder; not one of cs1's
// chunk files goes, and the master still counts every replica.
TEST_F(DiskIdentitySystemTest, ASecondChunkserverOnARunningOnesDisksIsRefused) {
  TestCluster c;
  ASSERT_FALSE(c.info().is_null());
  std::string src = Tmp("src");
  WriteRandomFile(src, 24ull << 20, 7);
  ASSERT_EQ(c.Cli({"fs", "put", src, "/f"}).exit_code, 0);
  const int cs1 = c.chunkserver_index("cs1");
  std::set<std::string> before = ChunkFiles(c, cs1);
  ASSERT_FALSE(before.empty());

  std::vector<std::string> args = {"chunkserver", "--id", "cs9", "--master", c.master(),
                                   "--secret-file", c.secret_file(), "--rack", "rack9",
                                   "--port", "0", "--http-port", "0"};
  for (const auto& disk : c.info()["chunkservers"][cs1]["disks"]) {
    args.push_back("--disk");
    args.push_back(disk.get<std::string>());
  }
  std::string log = Tmp("cs9.log");
  pid_t dup = StartStrata(args, log);
  ASSERT_GT(dup, 0);
  int code = -1;
  bool exited = WaitFor([&] { return Exited(dup, &code); }, 20s);
  if (!exited) {
    ::kill(dup, SIGKILL);
    (void)WaitExit(dup);
  }
  EXPECT_TRUE(exited) << "the second chunkserver kept running:\n" << ReadFile(log);
  EXPECT_NE(code, 0);
  std::string out = ReadFile(log);
  std::string disk0 = c.info()["chunkservers"][cs1]["disks"][0].get<std::string>();
  EXPECT_NE(out.find(disk0), std::string::npos) << out;
  EXPECT_NE(out.find("in use"), std::string::npos) << out;
  EXPECT_NE(out.find("pid " + std::to_string(c.chunkserver_pid(cs1))), std::string::npos) << out;

  EXPECT_EQ(ChunkFiles(c, cs1), before);
  auto cs9 = ServerStatus(c, "cs9");
  EXPECT_TRUE(cs9.is_null()) << cs9.dump();
  EXPECT_TRUE(ChunksFullyReplicated(c.StatJson("/f"), 3));
  std::string back = Tmp("back");
  ASSERT_EQ(c.Cli({"fs", "get", "/f", back}).exit_code, 0);
  EXPECT_TRUE(FilesEqual(src, back));
}

// A second process started as `--id cs1` (on disks of its own) is refused by
// the master: cs1 keeps its address while the duplicate runs and after it
// exits, and the duplicate says why it is not serving.
TEST_F(DiskIdentitySystemTest, ASecondProcessWithALiveIdIsRefusedByTheMaster) {
  TestCluster c;
  ASSERT_FALSE(c.info().is_null());
  const int cs1 = c.chunkserver_index("cs1");
  std::string addr = c.info()["chunkservers"][cs1]["addr"].get<std::string>();
  std::string log = Tmp("dup.log");
  pid_t dup = StartStrata({"chunkserver", "--id", "cs1", "--master", c.master(),
                           "--secret-file", c.secret_file(), "--rack", "rack1", "--port", "0",
                           "--http-port", "0", "--disk", Tmp("dup_disk0")},
                          log);
  ASSERT_GT(dup, 0);
  bool refused = WaitFor([&] { return ReadFile(log).find("already registered") != std::string::npos; }, 20s);
  auto during = ServerStatus(c, "cs1");
  ::kill(dup, SIGTERM);
  (void)WaitExit(dup);
  EXPECT_TRUE(refused) << ReadFile(log);
  ASSERT_FALSE(during.is_null());
  EXPECT_EQ(during["addr"], addr);
  EXPECT_EQ(during["state"], "alive");
  // cs1 keeps heartbeating from its own address after the duplicate is gone.
  auto after = ServerStatus(c, "cs1");
  ASSERT_FALSE(after.is_null());
  EXPECT_EQ(after["addr"], addr);
  EXPECT_EQ(after["state"], "alive");
}

// A chunkserver killed and restarted by hand (not recorded in cluster.json)
// is stopped by `strata down` too, since it serves the cluster's disks.
TEST_F(DiskIdentitySystemTest, DownStopsAChunkserverRestartedByHand) {
  TestCluster c;
  ASSERT_FALSE(c.info().is_null());
  const int cs2 = c.chunkserver_index("cs2");
  std::vector<std::string> argv = TestCluster::CommandLine(c.chunkserver_pid(cs2));
  ASSERT_GT(argv.size(), 1u);
  c.Kill(c.chunkserver_pid(cs2));
  std::vector<std::string> args(argv.begin() + 1, argv.end());
  pid_t by_hand = StartStrata(args, Tmp("cs2.log"));
  ASSERT_GT(by_hand, 0);
  // Serving once its admin port answers (it binds it after opening its
  // disks) and the master has it alive.
  auto flag = std::find(args.begin(), args.end(), "--http-port");
  ASSERT_TRUE(flag != args.end() && flag + 1 != args.end());
  const int http_port = std::stoi(*(flag + 1));
  auto host_flag = std::find(args.begin(), args.end(), "--host");
  const std::string host = host_flag != args.end() && host_flag + 1 != args.end() ? *(host_flag + 1) : "127.0.0.1";
  ASSERT_TRUE(WaitFor(
      [&] {
        auto s = ServerStatus(c, "cs2");
        return PortAcceptsConnections(host, http_port) && !s.is_null() && s["state"] == "alive";
      },
      30s));
  auto down = RunStrata({"down", "--dir", c.dir()});
  EXPECT_EQ(down.exit_code, 0) << down.err;
  int code = -1;
  bool stopped = WaitFor([&] { return Exited(by_hand, &code); }, 15s);
  if (!stopped) {
    ::kill(by_hand, SIGKILL);
    (void)WaitExit(by_hand);
  }
  EXPECT_TRUE(stopped) << "strata down left the chunkserver started by hand running";
}

}  // namespace
}  // namespace strata::testing
